// weft stop: stops the raylets (and so the workers) of one session dir, and nothing else.

#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

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

// Each raylet leads a process group that its workers join (raylet/main.cc), so a group is
// one raylet with its workers, and signalling the group reaches them all and nothing else.
size_t LiveMembers(const std::vector<pid_t>& groups) {
  size_t members = 0;
  for (pid_t pgid : groups) members += ProcessGroupMembers(pgid).size();
  return members;
}

// Polls until no process of `groups` runs or `timeout` passes; true if all are gone.
bool AwaitGroupsGone(const std::vector<pid_t>& groups, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (LiveMembers(groups) > 0) {
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
  const size_t workers = LiveMembers(raylets) - raylets.size();
  for (pid_t pid : raylets) kill(pid, SIGTERM);  // each stops its workers, then leaves
  const bool graceful = AwaitGroupsGone(raylets, absl::Seconds(o.grace_s));
  if (!graceful) {
    for (pid_t pgid : raylets) kill(-pgid, SIGKILL);
    if (!AwaitGroupsGone(raylets, absl::Seconds(5))) {
      return absl::InternalError(
          absl::StrCat("some processes of ", session.root(), " survived SIGKILL"));
    }
  }
  std::error_code ec;
  for (pid_t pid : raylets) std::filesystem::remove(session.RayletRecordPath(pid), ec);
  std::cout << "Stopped " << raylets.size() << " raylet(s) and " << workers << " worker(s) of "
            << session.root() << (graceful ? "" : " (some forced)") << "\n";
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
