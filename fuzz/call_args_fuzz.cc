// libFuzzer: the msgpack bytes of a call's arguments (or a result) decoded into the typed
// parameters of a method, as a worker (or a caller) does with bytes that came over the network,
// object references among them: the wire form of a reference is decoded into this process's
// object table. The first input byte picks the parameter list. Decoding fails (an exception)
// or succeeds; a crash, a sanitizer report or a runaway allocation is a finding.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "client/src/runtime.h"
#include "weft/weft.h"

namespace {

template <class Tuple>
void Decode(std::string_view bytes) {
  try {
    auto args = weft::internal::UnpackArgs<Tuple>(bytes);
    (void)args;
  } catch (const std::exception&) {
    // what bad bytes get: the call fails with this error
  }
}

// A process's runtime, as in a worker: references decode into its object table. The head it
// names is never called.
bool InstallRuntime() {
  weft::internal::Runtime::Config config;
  config.head_address = "127.0.0.1:1";
  config.token = "fuzz";
  config.job_id = "fuzz";
  weft::internal::Runtime::Install(std::make_unique<weft::internal::Runtime>(config));
  return true;
}

// With $WEFT_FUZZ_WRITE_SEEDS=<dir>: writes one well-formed input per parameter list into
// <dir> (the seed corpus in fuzz/corpus/call_args_fuzz was made so) and exits.
void WriteSeeds(const std::string& dir) {
  int n = 0;
  auto seed = [&](uint8_t selector, const std::string& packed) {
    const std::string path = dir + "/seed-" + std::to_string(n++);
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
      std::fputc(selector, f);
      std::fwrite(packed.data(), 1, packed.size(), f);
      std::fclose(f);
    }
  };
  seed(0, weft::Pack(std::make_tuple(7, std::string("text"), 2.5, true)));
  seed(1, weft::Pack(std::make_tuple(std::vector<int64_t>{1, -2, 3},
                                     std::map<std::string, double>{{"a", 1.5}, {"b", -2}})));
  seed(2, weft::Pack(std::make_tuple(std::optional<std::string>("x"), std::make_pair(1, 2))));
  seed(3, weft::Pack(std::make_tuple(weft::Put(42))));
  seed(4, weft::Pack(std::make_tuple(
              std::vector<weft::ObjectRef<std::string>>{weft::Put(std::string("v"))}, 3)));
  seed(5, weft::Pack(std::make_tuple(std::vector<std::vector<std::string>>{{"a"}, {"b", "c"}},
                                     std::map<int, std::string>{{1, "one"}})));
  std::exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool installed = InstallRuntime();
  (void)installed;
  if (const char* dir = std::getenv("WEFT_FUZZ_WRITE_SEEDS")) WriteSeeds(dir);
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      return Decode<std::tuple<int, std::string, double, bool>>(bytes), 0;
    case 1:
      return Decode<std::tuple<std::vector<int64_t>, std::map<std::string, double>>>(bytes), 0;
    case 2:
      return Decode<std::tuple<std::optional<std::string>, std::pair<int64_t, int64_t>>>(bytes), 0;
    case 3:
      return Decode<std::tuple<weft::ObjectRef<int>>>(bytes), 0;
    case 4:
      return Decode<std::tuple<std::vector<weft::ObjectRef<std::string>>, int>>(bytes), 0;
    default:
      return Decode<std::tuple<std::vector<std::vector<std::string>>, std::map<int, std::string>>>(
                 bytes),
             0;
  }
}
