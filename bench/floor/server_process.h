#pragma once

#include <sys/types.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace weft::floor {

// The echo server as a child process (this executable with `--serve`), so the floor pays the same
// cross-process hops as Weft. The child dies with this process's main thread (SIGKILL) and
// stops on its own when its stdin closes. Not thread-safe.
class ServerProcess {
 public:
  // Starts the child and waits up to `timeout` for the port it prints.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(absl::Duration timeout);

  // Kills and reaps the child if Stop() did not.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }

  // Closes the child's stdin and reaps it, with SIGKILL if it has not exited within
  // `timeout`. Returns an error unless it exited with code 0.
  [[nodiscard]] absl::Status Stop(absl::Duration timeout);

 private:
  ServerProcess(pid_t pid, int stdin_fd, int stdout_fd);
  [[nodiscard]] absl::Status ReadPort(absl::Duration timeout);
  // Waits for the child to close its stdout (it exits), at most until `deadline`.
  bool AwaitStdoutEof(absl::Time deadline);

  pid_t pid_;      // -1 once reaped
  int stdin_fd_;   // -1 once closed
  int stdout_fd_;  // -1 once closed
  int port_ = 0;
};

}  // namespace weft::floor
