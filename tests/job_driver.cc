// Driver for tests/job_submit_test.cc, run on the cluster by `weft job submit`:
//
//   job_driver exit N       joins the cluster, prints "exiting N", shuts down, exits N
//   job_driver serve        prints "driver pid <its own pid>", creates an actor, prints
//                           "actor pid <its worker's pid>", then waits (at most five
//                           minutes) to be stopped
//   job_driver stubborn -   ignores SIGTERM, prints "ignoring SIGTERM", then waits (at most
//                           five minutes) to be killed
//   job_driver cat FILE     prints FILE (a path in its working directory)
//   job_driver env NAME     prints $NAME
//
// Finds the cluster as a submitted driver does: through WEFT_ADDRESS, set by its node.

#include <signal.h>
#include <unistd.h>
#include <weft/weft.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

class Holder {
 public:
  int Pid() { return static_cast<int>(getpid()); }
};

static const auto kHolder = weft::ActorClass<Holder>("Holder").Method("Pid", &Holder::Pid);

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string mode = argv[1], arg = argv[2];
  weft::Init();
  if (mode == "exit") {
    std::cout << "exiting " << arg << std::endl;
    weft::Shutdown();
    return std::atoi(arg.c_str());
  }
  if (mode == "serve") {
    std::cout << "driver pid " << getpid() << std::endl;
    auto holder = weft::Actor<Holder>({.num_cpus = 1}).Remote();
    std::cout << "actor pid " << holder.Call(&Holder::Pid).Get(std::chrono::seconds(30))
              << std::endl;
    std::this_thread::sleep_for(std::chrono::minutes(5));  // the test stops us long before
    return 4;
  }
  if (mode == "stubborn") {
    signal(SIGTERM, SIG_IGN);
    std::cout << "ignoring SIGTERM" << std::endl;
    std::this_thread::sleep_for(std::chrono::minutes(5));  // the test kills us long before
    return 4;
  }
  if (mode == "cat") {
    std::ifstream in(arg);
    if (!in) return 5;
    std::cout << in.rdbuf() << std::endl;
  } else if (mode == "env") {
    const char* value = std::getenv(arg.c_str());
    std::cout << (value ? value : "(unset)") << std::endl;
  }
  weft::Shutdown();
  return 0;
}
