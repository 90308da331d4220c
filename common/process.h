#pragma once

#include <sys/types.h>

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
};

// Starts a new process (posix_spawn; stdin is /dev/null). Returns its pid.
[[nodiscard]] absl::StatusOr<pid_t> SpawnProcess(const SpawnOptions& options);

// True while `pid` names a running (not zombie) process.
bool ProcessAlive(pid_t pid);

// The command line of `pid` with arguments joined by spaces; empty if unknown.
std::string ProcessCommandLine(pid_t pid);

// Path of an executable named `name` in the folder of the running executable.
std::string SiblingExecutable(const std::string& name);

// "exit code 3" / "signal 9 (Killed)" for a waitpid() status.
std::string DescribeWaitStatus(int wait_status);

}  // namespace weft
