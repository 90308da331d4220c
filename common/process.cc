#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace weft {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env(extra);
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const auto key = entry.substr(0, entry.find('=') + 1);
    bool overridden = false;
    for (const auto& x : extra) overridden |= x.rfind(key, 0) == 0;
    if (!overridden) env.push_back(entry);
  }
  return env;
}

}  // namespace

absl::StatusOr<pid_t> SpawnProcess(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("empty argv");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int failed = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!options.cwd.empty()) {
    failed |= posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  }
  constexpr int kLogFlags = O_WRONLY | O_CREAT | O_APPEND;  // no O_CLOEXEC: exec keeps them
  if (!options.stdout_path.empty()) {
    failed |=
        posix_spawn_file_actions_addopen(&actions, 1, options.stdout_path.c_str(), kLogFlags, 0644);
  }
  if (!options.stderr_path.empty()) {
    failed |=
        posix_spawn_file_actions_addopen(&actions, 2, options.stderr_path.c_str(), kLogFlags, 0644);
  }
  for (const auto& [from, to] : options.fds) {
    failed |= posix_spawn_file_actions_adddup2(&actions, from, to);
  }
  if (failed != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return absl::InvalidArgumentError(absl::StrCat("cannot set up the files of ", options.argv[0]));
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Children start with default signal handling and an empty mask, whatever the parent blocks.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (options.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);

  auto argv = options.argv;
  auto env = MergedEnvironment(options.extra_env);
  auto c_argv = CStrings(argv);
  auto c_env = CStrings(env);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  return pid;
}

namespace {

// The fields of /proc/<pid>/stat after the command name: state is [0], pgrp is [2].
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return {};
  return absl::StrSplit(line.substr(close + 2), ' ');
}

}  // namespace

uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  const auto fields = StatFields(pid);
  return fields.empty() || fields[0] != "Z";
}

namespace {

// Running (not zombie) processes whose stat field `field` (1: parent, 2: group) is `value`.
std::vector<pid_t> ProcessesWhereStat(size_t field, pid_t value) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const auto fields = StatFields(pid);
    if (fields.size() > field && fields[0] != "Z" && fields[field] == std::to_string(value)) {
      found.push_back(pid);
    }
  }
  return found;
}

}  // namespace

std::vector<pid_t> ProcessGroupMembers(pid_t pgid) { return ProcessesWhereStat(2, pgid); }

std::vector<pid_t> ChildProcesses(pid_t parent) { return ProcessesWhereStat(1, parent); }

std::string ProcessName(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::string argv0;
  std::getline(in, argv0, '\0');
  return std::filesystem::path(argv0).filename().string();
}

std::string ProcessCommandLine(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  return std::string(absl::StripSuffix(raw, " "));
}

std::string SiblingExecutable(const std::string& name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  return (self.parent_path() / name).string();
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return absl::StrCat("signal ", sig, " (", strsignal(sig), ")");
  }
  return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
}

}  // namespace weft
