#include "server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace weft::floor {
namespace {

// Waits until `fd` is readable or hung up, at most until `deadline`. False on timeout.
bool PollReadable(int fd, absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd entry{.fd = fd, .events = POLLIN};
    const int ready = poll(&entry, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

// In the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void ExecServer(const char* path, pid_t parent, int stdin_fd, int stdout_fd) {
  char arg0[] = "grpc-floor";
  char arg1[] = "--serve";
  char* argv[] = {arg0, arg1, nullptr};
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
  if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(stdout_fd, STDOUT_FILENO) < 0) _exit(127);
  execv(path, argv);
  _exit(127);
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

// This executable's path; exec'ing it (not /proc/self/exe) names the child grpc-floor in ps.
absl::StatusOr<std::string> OwnPath() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n < 0) return absl::ErrnoToStatus(errno, "readlink /proc/self/exe");
  return std::string(path, n);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(absl::Duration timeout) {
  const absl::StatusOr<std::string> path = OwnPath();
  if (!path.ok()) return path.status();
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe");
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return absl::ErrnoToStatus(errno, "pipe");
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecServer(path->c_str(), parent, to_child[0], from_child[1]);
  const int fork_errno = errno;
  close(to_child[0]);
  close(from_child[1]);
  if (pid < 0) {
    close(to_child[1]);
    close(from_child[0]);
    return absl::ErrnoToStatus(fork_errno, "fork echo server");
  }
  std::unique_ptr<ServerProcess> server(new ServerProcess(pid, to_child[1], from_child[0]));
  if (absl::Status status = server->ReadPort(timeout); !status.ok()) return status;
  return server;
}

ServerProcess::ServerProcess(pid_t pid, int stdin_fd, int stdout_fd)
    : pid_(pid), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd) {}

ServerProcess::~ServerProcess() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

absl::Status ServerProcess::ReadPort(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string line;
  while (line.find('\n') == std::string::npos) {
    if (!PollReadable(stdout_fd_, deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "echo server pid=", pid_, " printed no port within ", absl::FormatDuration(timeout)));
    }
    char buffer[64];
    const ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
    if (n == 0)
      return absl::UnavailableError(
          absl::StrCat("echo server pid=", pid_, " exited before printing its port"));
    if (n < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "read echo server port");
    if (n > 0) line.append(buffer, n);
  }
  line.resize(line.find('\n'));
  if (!absl::SimpleAtoi(line, &port_) || port_ <= 0 || port_ > 65535) {
    return absl::InternalError(absl::StrCat("echo server printed a bad port: '", line, "'"));
  }
  return absl::OkStatus();
}

bool ServerProcess::AwaitStdoutEof(absl::Time deadline) {
  char buffer[256];
  while (PollReadable(stdout_fd_, deadline)) {
    const ssize_t n = read(stdout_fd_, buffer, sizeof(buffer));
    if (n == 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
  return false;
}

absl::Status ServerProcess::Stop(absl::Duration timeout) {
  if (pid_ < 0) return absl::FailedPreconditionError("echo server already stopped");
  close(stdin_fd_);
  stdin_fd_ = -1;
  const bool exited = AwaitStdoutEof(absl::Now() + timeout);
  if (!exited) kill(pid_, SIGKILL);
  int status = 0;
  const pid_t reaped = waitpid(pid_, &status, 0);
  const pid_t pid = pid_;
  pid_ = -1;
  if (reaped != pid) return absl::ErrnoToStatus(errno, absl::StrCat("waitpid ", pid));
  if (!exited) {
    return absl::DeadlineExceededError(absl::StrCat("echo server pid=", pid,
                                                    " did not stop within ",
                                                    absl::FormatDuration(timeout), "; killed"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("echo server pid=", pid, " ended with ", DescribeWaitStatus(status)));
  }
  return absl::OkStatus();
}

}  // namespace weft::floor
