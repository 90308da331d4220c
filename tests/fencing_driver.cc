// Driver for tests/fencing_test.cc: owns actors, then dies without weft::Shutdown.
//
//   fencing_driver READY_FILE   creates "owned" (1 CPU, its own worker, not detached) and
//                               "kept" (detached), calls each once, holds a 1 MiB result
//                               that "kept" stores and a 1 MiB Put value, writes READY_FILE,
//                               then waits (at most two minutes) to be killed.
//   fencing_driver --again      creates "owned" again and shuts down: exit 0 only if the name
//                               was free.
//
// Finds the cluster through WEFT_SESSION_DIR.

#include <weft/weft.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

class Counter {
 public:
  int Add(int n) { return total_ += n; }
  std::string Blob(int64_t bytes) { return std::string(static_cast<size_t>(bytes), 'x'); }

 private:
  int total_ = 0;
};

static const auto kCounter = weft::ActorClass<Counter>("Counter")
                                 .Method("Add", &Counter::Add)
                                 .Method("Blob", &Counter::Blob);

constexpr std::chrono::seconds kTimeout{30};

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  weft::Init();
  auto owned = weft::Actor<Counter>({.name = "owned", .num_cpus = 1}).Remote();
  owned.Call(&Counter::Add, 1).Get(kTimeout);
  if (std::string(argv[1]) == "--again") {
    weft::Shutdown();
    return 0;
  }
  auto kept = weft::Actor<Counter>({.name = "kept", .detached = true}).Remote();
  kept.Call(&Counter::Add, 1).Get(kTimeout);
  auto blob = kept.Call(&Counter::Blob, int64_t{1} << 20);  // stored by "kept", owned here
  if (weft::Wait(std::vector{blob}, 1, kTimeout, /*fetch_local=*/false).ready.size() != 1) return 4;
  auto put = weft::Put(std::string(size_t{1} << 20, 'p'));  // in its node's shared memory
  std::ofstream(argv[1]) << "ready\n";
  std::this_thread::sleep_for(std::chrono::minutes(2));  // the test kills us long before
  return 3;
}
