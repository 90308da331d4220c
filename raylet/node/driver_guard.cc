#include "raylet/node/driver_guard.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace weft {
namespace {

// Ends the guard as the driver ended: its exit code, or its signal (without a core of the
// guard's own, nor a crash report of weft-raylet through a piped core_pattern).
[[noreturn]] void EndAs(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0);
  signal(sig, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  sigprocmask(SIG_UNBLOCK, &only, nullptr);
  raise(sig);
  _exit(128 + sig);  // a signal that does not end a process
}

// In the driver (after fork): the loader variables renamed by GuardedEnv get their names back.
void RestoreGuardedEnv() {
  const size_t prefix = std::strlen(kGuardedEnvPrefix);
  std::vector<std::string> guarded;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, kGuardedEnvPrefix, prefix) == 0) guarded.emplace_back(*entry);
  }
  for (const std::string& entry : guarded) {
    const size_t equals = entry.find('=');
    if (equals == std::string::npos) continue;
    const std::string name = entry.substr(prefix, equals - prefix);
    unsetenv(entry.substr(0, equals).c_str());
    unsetenv(name.c_str());  // every entry of the name: the driver's value is the one
    setenv(name.c_str(), entry.c_str() + equals + 1, 1);
  }
}

}  // namespace

std::vector<std::string> GuardedEnv(std::vector<std::string> env) {
  for (std::string& entry : env) {
    if (entry.rfind("LD_", 0) == 0) entry.insert(0, kGuardedEnvPrefix);
  }
  return env;
}

std::vector<std::string> GuardedDriverArgv(const std::string& guard, int lifeline_fd,
                                           const std::vector<std::string>& driver_argv) {
  std::vector<std::string> argv = {guard, kGuardDriverFlag, std::to_string(lifeline_fd), "--"};
  argv.insert(argv.end(), driver_argv.begin(), driver_argv.end());
  return argv;
}

int RunDriverGuard(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[3], "--") != 0) {
    std::fprintf(stderr, "usage: weft-raylet %s <lifeline fd> -- <driver> [args...]\n",
                 kGuardDriverFlag);
    return 2;
  }
  const int lifeline = std::atoi(argv[2]);
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&handled, sig);
  sigset_t before;
  sigprocmask(SIG_BLOCK, &handled, &before);
  const int signals = signalfd(-1, &handled, SFD_CLOEXEC);
  if (signals < 0) {  // it could neither see the driver end nor pass a stop on
    std::fprintf(stderr, "weft: cannot watch the driver's signals: %s\n", std::strerror(errno));
    return 127;
  }
  const pid_t guard = getpid();
  const pid_t driver = fork();
  if (driver < 0) {
    std::fprintf(stderr, "weft: cannot start the driver: %s\n", std::strerror(errno));
    return 127;
  }
  if (driver == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != guard) _exit(137);  // the guard died before the line above
    close(lifeline);
    close(signals);
    sigprocmask(SIG_SETMASK, &before, nullptr);
    RestoreGuardedEnv();
    execv(argv[4], argv + 4);
    std::fprintf(stderr, "weft: cannot run %s: %s\n", argv[4], std::strerror(errno));
    _exit(127);
  }
  pollfd watched[2] = {{signals, POLLIN, 0}, {lifeline, POLLIN, 0}};
  for (;;) {
    if (poll(watched, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (watched[1].revents != 0) {  // EOF (or an error): the raylet is gone
      kill(driver, SIGKILL);
      int status = 0;
      waitpid(driver, &status, 0);
      EndAs(status);
    }
    if (watched[0].revents == 0) continue;
    signalfd_siginfo info;
    if (read(signals, &info, sizeof info) != sizeof info) continue;
    if (info.ssi_signo != SIGCHLD) {
      kill(driver, static_cast<int>(info.ssi_signo));
      continue;
    }
    int status = 0;
    if (waitpid(driver, &status, WNOHANG) == driver) EndAs(status);
  }
  kill(driver, SIGKILL);
  int status = 0;
  waitpid(driver, &status, 0);
  EndAs(status);
}

}  // namespace weft
