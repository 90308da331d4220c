// Driver for tests/head_restart_test.cc: a workload of calls to detached actors on two nodes
// that must go on while the head is killed and restarted, losing nothing.
//
//   head_restart_driver DIR
//
// Creates the detached actors "left" (on the node offering resource "a") and "right" (on the
// one offering "b"), and "owned" (not detached, beside "left"), then adds 1 to each, one call after
// the other, writing the number of rounds done to DIR/progress after each round, until
// DIR/restarted exists (the test creates it once the restarted head has its nodes back) and at
// least 40 more rounds are done; once DIR/killed exists it also creates an actor, a call that
// waits for the head to come back. Then, with the restarted head: finds "left" by name, creates a
// new actor, runs a task, and passes a 1 MiB result "left" stored before the kill to a task by
// reference, and has "left" print a line, which reaches this driver's output through the restarted
// head. Prints "rounds=N left=L right=R" and exits 0 only if each counter went 1, 2, ..., N with no
// call lost or run twice. Finds the cluster through WEFT_SESSION_DIR.

#include <unistd.h>
#include <weft/weft.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <string>
#include <vector>

class Counter {
 public:
  int Add(int n) { return total_ += n; }
  std::string Blob(int64_t bytes) { return std::string(static_cast<size_t>(bytes), 'x'); }
  int Shout(std::string what) {
    std::cout << "shout " << what << std::endl;
    return 0;
  }

 private:
  int total_ = 0;
};

static const auto kCounter = weft::ActorClass<Counter>("Counter")
                                 .Method("Add", &Counter::Add)
                                 .Method("Blob", &Counter::Blob)
                                 .Method("Shout", &Counter::Shout);

int Twice(int x) { return 2 * x; }
static const bool kTwice = weft::RemoteFunction("Twice", &Twice);
int64_t Size(std::string blob) { return static_cast<int64_t>(blob.size()); }
static const bool kSize = weft::RemoteFunction("Size", &Size);

namespace {

constexpr std::chrono::seconds kTimeout{60};

void WriteProgress(const std::string& dir, int rounds) {
  const std::string tmp = dir + "/progress.tmp";
  std::ofstream(tmp) << rounds << "\n";
  std::filesystem::rename(tmp, dir + "/progress");
}

int Fail(const std::string& what) {
  std::cerr << "head_restart_driver: " << what << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  weft::Init();
  auto left =
      weft::Actor<Counter>({.name = "left", .resources = {{"a", 1}}, .detached = true}).Remote();
  auto right =
      weft::Actor<Counter>({.name = "right", .resources = {{"b", 1}}, .detached = true}).Remote();
  // Not detached: its worker must end with this job, after the restart too.
  auto owned = weft::Actor<Counter>({.name = "owned", .resources = {{"a", 1}}}).Remote();
  if (owned.Call(&Counter::Add, 1).Get(kTimeout) != 1) return Fail("owned");
  // A large result stored on "left"'s node, never fetched here: after the restart it is passed
  // on by reference, found through the restarted head's object directory.
  constexpr int64_t kBlobBytes = int64_t{1} << 20;
  auto blob = left.Call(&Counter::Blob, kBlobBytes);
  if (weft::Wait(std::vector{blob}, 1, kTimeout, /*fetch_local=*/false).ready.size() != 1) {
    return Fail("the blob was not stored");
  }
  int rounds = 0;
  int after_restart = 0;
  // Created while no head runs (the test writes DIR/killed once it killed the head): the call
  // waits for the restarted head, as a user's would.
  std::future<int> made_while_down;
  // Bounded: the test restarts the head within seconds; a stuck head fails the Gets first.
  while (after_restart < 40 && rounds < 100000) {
    ++rounds;
    const int l = left.Call(&Counter::Add, 1).Get(kTimeout);
    const int r = right.Call(&Counter::Add, 1).Get(kTimeout);
    if (l != rounds || r != rounds) {
      return Fail("round " + std::to_string(rounds) + ": left=" + std::to_string(l) +
                  " right=" + std::to_string(r) + " (a call was lost or ran twice)");
    }
    WriteProgress(dir, rounds);
    if (!made_while_down.valid() && std::filesystem::exists(dir + "/killed")) {
      made_while_down = std::async(std::launch::async, [] {
        return weft::Actor<Counter>().Remote().Call(&Counter::Add, 7).Get(kTimeout);
      });
    }
    if (after_restart > 0 || std::filesystem::exists(dir + "/restarted")) ++after_restart;
  }
  if (!made_while_down.valid()) return Fail("DIR/killed never appeared");
  if (made_while_down.get() != 7) return Fail("the actor created while the head was down");
  // Control-plane calls to the restarted head.
  auto found = weft::GetActor<Counter>("left");
  const int l = found.Call(&Counter::Add, 1).Get(kTimeout);
  if (l != rounds + 1) return Fail("left by name answered " + std::to_string(l));
  auto fresh = weft::Actor<Counter>().Remote();
  if (fresh.Call(&Counter::Add, 5).Get(kTimeout) != 5) return Fail("new actor");
  if (weft::Task(&Twice).Remote(21).Get(kTimeout) != 42) return Fail("task");
  if (weft::Task(&Size).Remote(blob).Get(kTimeout) != kBlobBytes) return Fail("blob by reference");
  found.Call(&Counter::Shout, std::string("after the restart")).Get(kTimeout);  // printed here
  std::cout << "rounds=" << rounds << " left=" << l << " right=" << rounds << std::endl;
  weft::Shutdown();
  return 0;
}
