#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common.pb.h"
#include "common/resources.h"

namespace weft::node {

// The worker processes of one node: starts them (posix_spawn; their stdout/stderr go to
// pipes handed to `watch_output`, or without one straight to per-worker log files), admits only
// what the node's resources can hold, learns when each is ready, reaps them and reports how each
// one ended. Thread-safe; callbacks run on the calling thread, never under the pool's lock.
//
// Every worker inherits the read end of a "lifeline" pipe whose write end only this process
// holds: when the raylet dies, however it dies, its workers read EOF and exit.
class WorkerPool {
 public:
  struct Options {
    std::string worker_binary;  // path of weft-worker
    std::string node_id;
    std::string worker_host;            // interface the workers listen on
    std::string worker_advertise_host;  // where others reach them (empty: worker_host)
    std::string logs_dir;
    std::string token;        // handed to workers through their environment
    std::string tls_dir;      // the node's TLS files, which workers serve with; empty: plaintext
    bool tls_mutual = false;  // workers take only connections that show a cluster certificate
    ResourceMap capacity;     // what the node offers; starts beyond it are refused
    absl::Duration start_timeout = absl::Seconds(30);
    // The node's FenceAfter: a worker whose raylet does not answer its CheckNode stops itself
    // at most this long plus WorkerGrace after asking; passed on the worker's command line
    // (see common/fence_rule.h). Zero: workers run no watch. The
    // initial value, until SetFenceAfter.
    absl::Duration fence_after = absl::Seconds(2);
    size_t exited_kept = 200;  // how many exits List() still shows
    // The node's object store folder, handed to workers (common/store_budget); empty: none.
    std::string object_store_dir;
    // Receives each started worker's stdout and stderr pipes (the read ends, owned from then
    // on), after the worker is listed. Unset: output is appended to the log files directly.
    std::function<void(const proto::WorkerInfo& worker, int stdout_fd, int stderr_fd)> watch_output;
    // The program a submitted driver runs under (raylet/node/driver_guard.h: weft-raylet
    // itself), with the lifeline; empty: drivers run unguarded (tests of the pool).
    std::string driver_guard;
  };
  using StartCallback = std::function<void(absl::StatusOr<proto::WorkerInfo>)>;
  using ExitCallback = std::function<void(const proto::WorkerInfo&)>;

  // What the pool holds right now, read under one lock.
  struct Snapshot {
    ResourceMap used;
    int alive = 0;
    uint64_t version = 0;  // grows with every start and exit
  };

  WorkerPool(Options options, ExitCallback on_exit);
  ~WorkerPool();

  // Opens the pool: workers will call RegisterWorker at `node_address` and reach the head at
  // `head_address`. Starts before this are refused with UNAVAILABLE.
  void Open(const std::string& node_address, const std::string& head_address);

  // Workers started from now on watch their raylet with this bound (the head's terms).
  void SetFenceAfter(absl::Duration fence_after);

  // Refuses further starts (UNAVAILABLE); call before TerminateAll when shutting down.
  void Close();

  // Starts a worker holding `resources` for `job_id`, leased by `owner_worker_id` (empty: a
  // driver or the head). `done` runs once: with the worker when
  // it has registered, or with an error: RESOURCE_EXHAUSTED when the node lacks the
  // resources, UNAVAILABLE when the pool is not open or the worker exited first,
  // DEADLINE_EXCEEDED when it did not register in time, INTERNAL when it cannot be spawned.
  void Start(const std::string& job_id, const std::string& owner_worker_id,
             const ResourceMap& resources, StartCallback done);

  // A submitted job's driver (WorkerInfo.driver, id DriverWorkerId(job_id)): runs
  // `launch.argv` (argv[0] its path) in `launch.cwd`, with `launch.env` and the cluster's
  // (WEFT_ADDRESS, WEFT_TOKEN, WEFT_JOB_ID, the TLS files) added to the node's environment, its
  // stdout and stderr in one file of the logs dir. It holds `resources` until it exits, is
  // stopped by Kill and reaped like a worker; a failed driver's exit carries its last line of
  // output. `done` runs once it was spawned (a driver does not register). Errors as Start's.
  struct DriverLaunch {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // KEY=VALUE
    std::string cwd;
  };
  void StartDriver(const std::string& job_id, const ResourceMap& resources, DriverLaunch launch,
                   StartCallback done);
  // Where a driver's output goes (kept after it exits).
  std::string DriverOutputPath(const std::string& job_id) const;

  // A started worker says it serves at `address`. NOT_FOUND for an unknown worker id,
  // INVALID_ARGUMENT when the pid does not match the process that was started,
  // FAILED_PRECONDITION when its start already timed out.
  [[nodiscard]] absl::Status OnRegistered(const std::string& worker_id, const std::string& address,
                                          pid_t pid);

  // Collects every exited child (call on SIGCHLD) and reports each exit.
  void Reap();

  // Fails starts that have waited longer than start_timeout, killing their processes.
  void ExpireStarts();

  // The worker's task blocks in a wait (`blocked`) or runs again. A blocked worker's CPUs do
  // not count as used, so other workers may start on them; on resume it takes them back even
  // when that oversubscribes the node for a while, as Ray does. Returns whether the worker
  // holds any CPU; NOT_FOUND for an unknown or exited worker.
  [[nodiscard]] absl::StatusOr<bool> SetBlocked(const std::string& worker_id, bool blocked);

  // Sends SIGTERM (or SIGKILL when `force`). NOT_FOUND for an unknown or exited worker.
  [[nodiscard]] absl::Status Kill(const std::string& worker_id, bool force);

  // The worker's lease ended: its resources return to the node now (the process may stay,
  // holding nothing). Returns its address; NOT_FOUND if it is not running here.
  [[nodiscard]] absl::StatusOr<std::string> Release(const std::string& worker_id);

  // SIGKILL to every worker now (fencing); returns how many were signalled. Reap() as usual.
  size_t KillAll() { return SignalAll(SIGKILL); }

  // SIGTERM to every worker, then SIGKILL to those still running after `grace`; reaps all.
  // `while_waiting` (e.g. reading the workers' pipes) runs between polls.
  void TerminateAll(absl::Duration grace, const std::function<void()>& while_waiting = nullptr);

  std::vector<proto::WorkerInfo> List() const;  // live workers, then recent exits
  Snapshot Current() const;

 private:
  struct Worker {
    proto::WorkerInfo info;
    ResourceMap resources;
    StartCallback on_ready;  // empty once the start has been answered
    absl::Time started;
    bool expired = false;  // killed by ExpireStarts; its registration is refused
    bool blocked = false;  // its task waits in Get/Wait: its CPUs are lent out
  };
  ResourceMap UsedLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status AdmitLocked(const ResourceMap& resources) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  struct Spawned {
    pid_t pid = -1;
    int stdout_fd = -1;  // read ends of the output pipes, with watch_output
    int stderr_fd = -1;
  };
  absl::StatusOr<Spawned> SpawnLocked(const std::string& worker_id, const std::string& job_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleExit(pid_t pid, int wait_status);
  size_t SignalAll(int signal);

  const Options options_;
  const ExitCallback on_exit_;
  int lifeline_[2] = {-1, -1};
  mutable absl::Mutex mu_;
  std::string node_address_ ABSL_GUARDED_BY(mu_);  // empty until Open()
  std::string head_address_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration fence_after_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Worker> workers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<pid_t, std::string> by_pid_ ABSL_GUARDED_BY(mu_);
  std::deque<proto::WorkerInfo> exited_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::node
