#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weft {

struct SpawnOptions {
  std::vector<std::string> argv;       // argv[0] is the executable's path
  std::vector<std::string> extra_env;  // "KEY=VALUE" entries added to this process's environment
  std::string stdout_path;             // appended to; empty keeps this process's stdout
  std::string stderr_path;             // appended to; empty keeps this process's stderr
  bool new_session = false;            // setsid(): detach from the caller's terminal
  std::string cwd;                     // the child's working directory; empty: this one's
  // (parent fd, child fd) pairs: the child gets a copy of each parent fd at that number.
  std::vector<std::pair<int, int>> fds;
};

// Starts a new process (posix_spawn; stdin is /dev/null). Returns its pid.
[[nodiscard]] absl::StatusOr<pid_t> SpawnProcess(const SpawnOptions& options);

// True while `pid` names a running (not zombie) process.
bool ProcessAlive(pid_t pid);

// Raises this process's open-file limit to its hard limit and returns the limit now in force.
// A daemon serves a connection per peer: gRPC 1.51 stops accepting for good once accept4 fails
// with EMFILE, and the systemd default of 1,024 is soon reached (issue 13).
uint64_t RaiseOpenFileLimit();

// The command line of `pid` with arguments joined by spaces; empty if unknown.
std::string ProcessCommandLine(pid_t pid);

// The file name of `pid`'s argv[0] ("weft-raylet"), empty if unknown.
std::string ProcessName(pid_t pid);

// Running (not zombie) processes whose process group is `pgid`.
std::vector<pid_t> ProcessGroupMembers(pid_t pgid);

// Running (not zombie) children of `parent`.
std::vector<pid_t> ChildProcesses(pid_t parent);

// Path of an executable named `name` in the folder of the running executable.
std::string SiblingExecutable(const std::string& name);

// "exit code 3" / "signal 9 (Killed)" for a waitpid() status.
std::string DescribeWaitStatus(int wait_status);

}  // namespace weft
