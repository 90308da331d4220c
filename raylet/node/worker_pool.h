#pragma once

#include <sys/types.h>

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

// The worker processes of one node: starts them (posix_spawn, output to per-worker log
// files), learns when each is ready, reaps them and reports how each one ended.
// Thread-safe; callbacks run on the calling thread, never under the pool's lock.
class WorkerPool {
 public:
  struct Options {
    std::string worker_binary;  // path of weft-worker
    std::string node_id;
    std::string worker_host;  // interface the workers listen on
    std::string logs_dir;
    std::string token;  // handed to workers through their environment
    absl::Duration start_timeout = absl::Seconds(30);
    size_t exited_kept = 200;  // how many exits ListWorkers still shows
  };
  using StartCallback = std::function<void(absl::StatusOr<proto::WorkerInfo>)>;
  using ExitCallback = std::function<void(const proto::WorkerInfo&)>;

  WorkerPool(Options options, ExitCallback on_exit);

  // Where workers call RegisterWorker: the node's own server. Set once, before any Start.
  void SetNodeAddress(const std::string& address);

  // Starts a worker holding `resources` for `job_id`. `done` runs once: with the worker
  // when it has registered, or with an error if it could not start, exited first or timed out.
  void Start(const std::string& job_id, const ResourceMap& resources, StartCallback done);

  // A started worker says it serves at `address`. NOT_FOUND for an unknown worker id,
  // INVALID_ARGUMENT when the pid does not match the process that was started.
  [[nodiscard]] absl::Status OnRegistered(const std::string& worker_id, const std::string& address,
                                          pid_t pid);

  // Collects every exited child (call on SIGCHLD) and reports each exit.
  void Reap();

  // Fails starts that have waited longer than start_timeout, killing their processes.
  void ExpireStarts();

  // Sends SIGTERM (or SIGKILL when `force`). NOT_FOUND for an unknown or exited worker.
  [[nodiscard]] absl::Status Kill(const std::string& worker_id, bool force);

  // SIGTERM to every worker, then SIGKILL to those still running after `grace`; reaps all.
  void TerminateAll(absl::Duration grace);

  std::vector<proto::WorkerInfo> List() const;  // live workers, then recent exits
  int NumAlive() const;
  ResourceMap Used() const;  // resources held by live workers

 private:
  struct Worker {
    proto::WorkerInfo info;
    ResourceMap resources;
    StartCallback on_ready;  // empty once the start has been answered
    absl::Time started;
  };
  void HandleExit(pid_t pid, int wait_status);

  const Options options_;
  const ExitCallback on_exit_;
  mutable absl::Mutex mu_;
  std::string node_address_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Worker> workers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<pid_t, std::string> by_pid_ ABSL_GUARDED_BY(mu_);
  std::deque<proto::WorkerInfo> exited_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::node
