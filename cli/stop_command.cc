// weft stop: stops the raylets (and so the workers) of one session dir, ends the cluster whose
// head state is kept there (unless --keep-state), and removes the shared memory folders that
// killed raylets left on this machine (common/shared_memory); nothing else.

#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/command.h"
#include "common/process.h"
#include "common/session_dir.h"
#include "common/shared_memory.h"

namespace weft::cli {
namespace {

struct StopOptions {
  std::string session_dir = SessionDir::Default();
  int grace_s = 10;
  bool keep_state = false;
};

// The head's stored tables: without them, the next `weft start --head` starts a new cluster.
// True if there were any.
bool RemoveHeadState(const SessionDir& session) {
  bool removed = false;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    removed |= std::filesystem::remove(session.HeadStatePath() + suffix, ec);
  }
  return removed;
}

// Each raylet leads a process group that its workers join (raylet/main.cc), so a group is
// one raylet with its workers, and signalling the group reaches them all and nothing else.
size_t Workers(const std::vector<pid_t>& raylets) {
  size_t workers = 0;
  for (pid_t raylet : raylets) {
    for (pid_t member : ProcessGroupMembers(raylet)) workers += member != raylet;
  }
  return workers;
}

// A raylet counts as running while it or any process of its group does.
bool AnyRunning(const std::vector<pid_t>& raylets) {
  for (pid_t raylet : raylets) {
    if (ProcessAlive(raylet) || !ProcessGroupMembers(raylet).empty()) return true;
  }
  return false;
}

// Polls until no raylet of `raylets` nor any of their workers runs, or `timeout` passes;
// true if all are gone.
bool AwaitGroupsGone(const std::vector<pid_t>& raylets, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (AnyRunning(raylets)) {
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

absl::Status RunStop(const StopOptions& o) {
  const SessionDir session(o.session_dir);
  const std::vector<pid_t> raylets = session.RunningRaylets();
  RemoveAbandonedSharedMemory();  // what raylets that were killed left in /dev/shm
  if (raylets.empty()) {
    std::cout << "No Weft daemons running in " << session.root() << "\n";
    if (!o.keep_state && RemoveHeadState(session)) {
      std::cout << "Removed the stored state of its cluster\n";
    }
    return absl::OkStatus();
  }
  const size_t workers = Workers(raylets);
  for (pid_t pid : raylets) kill(pid, SIGTERM);  // each stops its workers, then leaves
  const bool graceful = AwaitGroupsGone(raylets, absl::Seconds(o.grace_s));
  if (!graceful) {
    for (pid_t raylet : raylets) {
      kill(raylet, SIGKILL);
      kill(-raylet, SIGKILL);  // its workers (ESRCH if it leads no group)
    }
    if (!AwaitGroupsGone(raylets, absl::Seconds(5))) {
      return absl::InternalError(
          absl::StrCat("some processes of ", session.root(), " survived SIGKILL"));
    }
  }
  std::error_code ec;
  for (pid_t pid : raylets) std::filesystem::remove(session.RayletRecordPath(pid), ec);
  RemoveAbandonedSharedMemory();  // and what those forced just now left
  const bool removed = !o.keep_state && RemoveHeadState(session);
  std::cout << "Stopped " << raylets.size() << " raylet(s) and " << workers << " worker(s) of "
            << session.root() << (graceful ? "" : " (some forced)")
            << (removed ? "; removed the stored state of its cluster" : "") << "\n";
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
  cmd->add_flag("--keep-state", o->keep_state,
                "Keep the head's stored state: `weft start --head` on this session dir then "
                "takes the cluster over again (default: the cluster ends)");
  OnRun(cmd, o, &RunStop);
}

}  // namespace weft::cli
