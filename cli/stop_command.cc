// weft stop: stops the raylets (and so the workers) of one session dir, and nothing else.

#include <dirent.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/command.h"
#include "common/process.h"
#include "common/session_dir.h"

namespace weft::cli {
namespace {

struct StopOptions {
  std::string session_dir = SessionDir::Default();
  int grace_s = 10;
};

// weft-worker processes started by one of `raylets` (they carry --raylet-pid <pid>).
std::vector<pid_t> WorkersOf(const std::vector<pid_t>& raylets) {
  std::vector<pid_t> workers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const std::string cmdline = ProcessCommandLine(pid);
    if (!absl::StrContains(cmdline, "weft-worker")) continue;
    for (pid_t raylet : raylets) {
      if (absl::StrContains(cmdline + " ", absl::StrCat("--raylet-pid ", raylet, " "))) {
        workers.push_back(pid);
      }
    }
  }
  return workers;
}

bool AllGone(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (ProcessAlive(pid)) return false;
  }
  return true;
}

// Polls until every process in `pids` is gone or `timeout` passes; true if all are gone.
bool AwaitExit(const std::vector<pid_t>& pids, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!AllGone(pids)) {
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

absl::Status RunStop(const StopOptions& o) {
  const SessionDir session(o.session_dir);
  std::vector<pid_t> raylets;
  for (const auto& raylet : session.RunningRaylets()) raylets.push_back(raylet.pid);
  if (raylets.empty()) {
    std::cout << "No Weft daemons running in " << session.root() << "\n";
    return absl::OkStatus();
  }
  const std::vector<pid_t> workers = WorkersOf(raylets);
  for (pid_t pid : raylets) kill(pid, SIGTERM);
  bool forced = false;
  if (!AwaitExit(raylets, absl::Seconds(o.grace_s))) {
    forced = true;
    for (pid_t pid : raylets) kill(pid, SIGKILL);
  }
  // Workers follow their raylet (SIGTERM on its death); force the ones that linger.
  if (!AwaitExit(workers, absl::Seconds(2))) {
    forced = true;
    for (pid_t pid : workers) kill(pid, SIGKILL);
  }
  if (!AwaitExit(raylets, absl::Seconds(5)) || !AwaitExit(workers, absl::Seconds(5))) {
    return absl::InternalError(
        absl::StrCat("some processes of ", session.root(), " survived SIGKILL"));
  }
  std::error_code ec;
  for (pid_t pid : raylets) std::filesystem::remove(session.RayletRecordPath(pid), ec);
  std::cout << "Stopped " << raylets.size() << " raylet(s) and " << workers.size()
            << " worker(s) of " << session.root() << (forced ? " (some forced)" : "") << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddStopCommand(CLI::App& app) {
  auto o = std::make_shared<StopOptions>();
  auto* cmd = app.add_subcommand("stop", "Stop the daemons and workers of one session");
  cmd->add_option("--session-dir", o->session_dir, "Session to stop ($WEFT_SESSION_DIR)")
      ->capture_default_str();
  cmd->add_option("--grace-period", o->grace_s, "Seconds before stragglers get SIGKILL")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  OnRun(cmd, o, &RunStop);
}

}  // namespace weft::cli
