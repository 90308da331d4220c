#include "common/ids.h"

#include <random>

#include "absl/synchronization/mutex.h"

namespace weft {

std::string RandomHex(int num_bytes) {
  static absl::Mutex mu;
  static std::mt19937_64 engine ABSL_GUARDED_BY(mu){std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * num_bytes);
  absl::MutexLock lock(&mu);
  for (int i = 0; i < num_bytes; ++i) {
    const auto byte = static_cast<unsigned>(engine() & 0xff);
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xf]);
  }
  return out;
}

}  // namespace weft
