#pragma once

#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "head.pb.h"
#include "raylet/head/job_registry.h"
#include "raylet/head/node_directory.h"
#include "raylet/head/scheduler_service.h"

namespace weft::head {

// Runs the drivers of submitted jobs (`weft job submit`, issue 18): leases the resources a
// submission asks for on a node, as a worker's lease waits for room, and has that node start
// the driver instead of a worker (SpawnWorker with `driver`); the driver's exit, reported as a
// worker's, ends its job. Stop sends SIGTERM, then SIGKILL after the grace. Thread-safe.
class JobSubmissions {
 public:
  // A submitted job that was running ended (its driver exited or its node died): its actors
  // and workers end as a finished job's do.
  using JobEndedFn = std::function<void(const std::string& job_id, const std::string& reason)>;
  // Whether the head's CodeStore has this file.
  using HasCodeFn = std::function<bool(const std::string& sha256)>;

  static constexpr absl::Duration kStopGrace = absl::Seconds(10);

  JobSubmissions(JobRegistry& jobs, NodeDirectory& nodes, SchedulerService& scheduler,
                 HasCodeFn has_code, JobEndedFn on_ended, absl::Duration stop_grace = kStopGrace)
      : jobs_(jobs),
        nodes_(nodes),
        scheduler_(scheduler),
        has_code_(std::move(has_code)),
        on_ended_(std::move(on_ended)),
        stop_grace_(stop_grace) {}

  // A PENDING job whose driver starts once a node has room. INVALID_ARGUMENT for a submission
  // without argv or executable, with a file the head does not have or a working directory over
  // the limits, or asking for resources no alive node has in total.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> Submit(proto::JobSubmission submission);
  // See JobRegistry::RequestStop; a running driver gets SIGTERM now, SIGKILL after the grace.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> Stop(const std::string& job_id);

  // A worker exited: when it was a submitted driver, its job ends.
  void OnWorkerExit(const proto::WorkerInfo& worker);
  // Drivers that ran there are gone with it.
  void OnNodeDead(const std::string& node_id);
  // After a head restart: PENDING jobs wait for room again.
  void Recover();
  // Call periodically: SIGKILL to drivers that outlived their stop's grace.
  void Tick();
  // The head is stopping: jobs whose drivers have not started stay PENDING (for the next
  // head) instead of failing as their leases are cancelled. Call before the leases are.
  void Close();

 private:
  // Leases the job's resources; the node starts its driver.
  void Launch(const proto::JobInfo& job);
  void End(const std::string& job_id, const proto::WorkerExit& exit,
           const std::string& node_id = "");
  // SIGTERM to the driver of `job_id` at `node_address`, and SIGKILL after the grace unless
  // its exit comes first.
  void Terminate(const std::string& job_id, const std::string& node_address);

  JobRegistry& jobs_;
  NodeDirectory& nodes_;
  SchedulerService& scheduler_;
  const HasCodeFn has_code_;
  const JobEndedFn on_ended_;
  const absl::Duration stop_grace_;
  absl::Mutex mu_;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // Jobs whose lease waits in the scheduler's queue: its queue id (for a stop).
  absl::flat_hash_map<std::string, uint64_t> queued_ ABSL_GUARDED_BY(mu_);
  // Drivers asked to stop, by job: when they get SIGKILL, and where.
  struct Stopping {
    absl::Time kill_at;
    std::string node_address;
  };
  absl::flat_hash_map<std::string, Stopping> stopping_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
