// Driver for tests/head_restart_test.cc: work that is under way on a node when the head dies,
// and must neither be done twice nor left behind by the restarted head.
//
//   head_restart_pending_driver DIR
//
// Creates the actor "first" (it shares its job's worker on the node), runs a task that waits
// for DIR/go, and creates two actors whose constructors wait: "second" on the shared worker,
// for DIR/go, and "third" in a process of its own, for DIR/go-early (the test kills the head
// meanwhile, creates DIR/go-early, and restarts the head once "third"'s constructor returned,
// then creates DIR/go). Each constructor appends its worker's pid to DIR/constructions and
// writes DIR/<name>-waiting when it starts waiting and DIR/<name>-done when it returns; the
// task writes DIR/task_pid. Then calls both, checks where they run, prints "task_pid=P" and
// exits 0; its job ends with it. Finds the cluster through WEFT_SESSION_DIR.

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

// Waits (bounded) for the test to create `path`.
bool AwaitFile(const std::string& path) {
  const auto until = std::chrono::steady_clock::now() + kTimeout;
  while (!std::filesystem::exists(path)) {
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
  Slow(std::string dir, std::string name, std::string wait_for) {
    std::ofstream(dir + "/constructions", std::ios::app) << getpid() << std::endl;
    if (wait_for.empty()) return;
    WriteFile(dir + "/" + name + "-waiting", std::to_string(getpid()));
    if (!AwaitFile(dir + "/" + wait_for)) throw std::runtime_error(wait_for + " never appeared");
    WriteFile(dir + "/" + name + "-done", std::to_string(getpid()));
  }
  int Pid() { return getpid(); }
};

static const auto kSlow =
    weft::ActorClass<Slow>("Slow").Constructor<std::string, std::string, std::string>().Method(
        "Pid", &Slow::Pid);

int Held(std::string dir) {
  WriteFile(dir + "/task_pid", std::to_string(getpid()));
  if (!AwaitFile(dir + "/go")) throw std::runtime_error("DIR/go never appeared");
  return getpid();
}
static const bool kHeld = weft::RemoteFunction("Held", &Held);

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  weft::Init();
  auto first = weft::Actor<Slow>({.name = "first"}).Remote(dir, "first", "");
  const int shared_pid = first.Call(&Slow::Pid).Get(kTimeout);
  auto held = weft::Task(&Held).Remote(dir);
  auto second = weft::Actor<Slow>({.name = "second"}).Remote(dir, "second", "go");
  auto third = weft::Actor<Slow>({.name = "third", .dedicated_process = true})
                   .Remote(dir, "third", "go-early");
  if (second.Call(&Slow::Pid).Get(kTimeout) != shared_pid) {
    return Fail("\"second\" does not share its job's worker: the test proves nothing");
  }
  if (third.Call(&Slow::Pid).Get(kTimeout) == shared_pid) {
    return Fail("\"third\" shares its job's worker although it asked for a process of its own");
  }
  const int task_pid = held.Get(kTimeout);
  std::cout << "task_pid=" << task_pid << std::endl;
  weft::Shutdown();
  return 0;
}
