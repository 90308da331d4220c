// Driver for tests/tls_test.cc: the connections of a cluster with TLS, each used once.
//
//   tls_driver
//
// An actor on the node offering resource "b" (driver -> worker), a 2 MiB result it stores
// there, passed by reference to a task on the node offering "a" (worker -> worker fetch), and
// a 1 MiB value this driver Puts, passed to the actor (worker -> this driver's own server).
// Prints "secret-argument" results and "ok", and exits 0 when every value arrived whole.
// Finds the cluster through WEFT_SESSION_DIR (or WEFT_ADDRESS, WEFT_TOKEN and WEFT_TLS_CA).

#include <weft/weft.h>

#include <chrono>
#include <iostream>
#include <string>

class Keeper {
 public:
  std::string Blob(int64_t bytes) { return std::string(static_cast<size_t>(bytes), 'x'); }
  int64_t Length(std::string value) { return static_cast<int64_t>(value.size()); }
  std::string Echo(std::string value) { return value; }
};

static const auto kKeeper = weft::ActorClass<Keeper>("Keeper")
                                .Method("Blob", &Keeper::Blob)
                                .Method("Length", &Keeper::Length)
                                .Method("Echo", &Keeper::Echo);

int64_t Size(std::string blob) { return static_cast<int64_t>(blob.size()); }
static const bool kSize = weft::RemoteFunction("Size", &Size);

int main() {
  constexpr std::chrono::seconds kTimeout{60};
  weft::Init();
  auto keeper = weft::Actor<Keeper>({.resources = {{"b", 1}}}).Remote();
  // A string the test looks for on the wire: it must not be there in clear.
  std::cout << keeper.Call(&Keeper::Echo, std::string("secret-argument-5f1e")).Get(kTimeout)
            << std::endl;
  constexpr int64_t kBlob = int64_t{2} << 20;
  auto blob = keeper.Call(&Keeper::Blob, kBlob);
  const int64_t fetched =
      weft::Task(&Size, {.num_cpus = 0, .resources = {{"a", 1}}}).Remote(blob).Get(kTimeout);
  auto mine = weft::Put(std::string(size_t{1} << 20, 'y'));
  const int64_t borrowed = keeper.Call(&Keeper::Length, mine).Get(kTimeout);
  weft::Shutdown();
  if (fetched != kBlob || borrowed != (int64_t{1} << 20)) {
    std::cerr << "tls_driver: fetched=" << fetched << " borrowed=" << borrowed << std::endl;
    return 1;
  }
  std::cout << "ok" << std::endl;
  return 0;
}
