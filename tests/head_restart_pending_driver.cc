// Driver for tests/head_restart_test.cc: work that is under way on a node when the head dies,
// and must neither be done twice nor left behind by the restarted head.
//
//   head_restart_pending_driver DIR
//
// Creates the actor "first" (it shares its job's worker on the node), runs a task that waits,
// and creates the actor "second", whose constructor waits: both wait until DIR/go exists (the
// test kills and restarts the head meanwhile, then creates it). Each constructor appends its
// worker's pid to DIR/constructions; the constructor and the task write DIR/constructing and
// DIR/task_pid once they run. Then calls "second", checks that it shares "first"'s worker,
// prints "task_pid=P" and exits 0; its job ends with it. Finds the cluster through
// WEFT_SESSION_DIR.

#include <unistd.h>
#include <weft/weft.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

namespace {

constexpr std::chrono::seconds kTimeout{60};

// Waits (bounded) for the test to create DIR/go.
bool AwaitGo(const std::string& dir) {
  const auto until = std::chrono::steady_clock::now() + kTimeout;
  while (!std::filesystem::exists(dir + "/go")) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text << "\n";
  std::filesystem::rename(path + ".tmp", path);
}

int Fail(const std::string& what) {
  std::cerr << "head_restart_pending_driver: " << what << std::endl;
  return 1;
}

}  // namespace

class Slow {
 public:
  Slow(std::string dir, bool wait) {
    std::ofstream(dir + "/constructions", std::ios::app) << getpid() << std::endl;
    if (!wait) return;
    WriteFile(dir + "/constructing", std::to_string(getpid()));
    if (!AwaitGo(dir)) throw std::runtime_error("DIR/go never appeared");
  }
  int Pid() { return getpid(); }
};

static const auto kSlow =
    weft::ActorClass<Slow>("Slow").Constructor<std::string, bool>().Method("Pid", &Slow::Pid);

int Held(std::string dir) {
  WriteFile(dir + "/task_pid", std::to_string(getpid()));
  if (!AwaitGo(dir)) throw std::runtime_error("DIR/go never appeared");
  return getpid();
}
static const bool kHeld = weft::RemoteFunction("Held", &Held);

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  weft::Init();
  auto first = weft::Actor<Slow>({.name = "first"}).Remote(dir, false);
  const int shared_pid = first.Call(&Slow::Pid).Get(kTimeout);
  auto held = weft::Task(&Held).Remote(dir);
  auto second = weft::Actor<Slow>({.name = "second"}).Remote(dir, true);
  const int second_pid = second.Call(&Slow::Pid).Get(kTimeout);
  if (second_pid != shared_pid) {
    return Fail("the actors do not share their job's worker: the test proves nothing");
  }
  const int task_pid = held.Get(kTimeout);
  std::cout << "task_pid=" << task_pid << std::endl;
  weft::Shutdown();
  return 0;
}
