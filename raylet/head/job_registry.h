#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/job_state.h"
#include "head.pb.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {

using weft::JobEnded;

// Jobs, one per connected driver, with ids "job-0001", "job-0002", ... in start order.
// A submitted job (`weft job submit`) is made before its driver runs: PENDING, then RUNNING
// once its driver started on a node, then SUCCEEDED, FAILED or STOPPED by how that process
// ended. Thread-safe.
class JobRegistry {
 public:
  // Loads the jobs kept in `store` (a restarted head) and writes every later change there
  // before it is acknowledged. Call once, before serving. Returns the jobs still RUNNING.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> Recover(TableStore& store);

  // UNAVAILABLE when the change cannot be stored. With `job_id`: a submitted job's driver
  // takes up its job (NOT_FOUND for an unknown one, FAILED_PRECONDITION for one that was not
  // submitted or has ended).
  [[nodiscard]] absl::StatusOr<proto::JobInfo> Register(const proto::RegisterJobRequest& request);

  // A new job, PENDING, that runs `submission` once a node starts its driver.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> Submit(const proto::JobSubmission& submission);
  // A submitted job's driver runs on `node_id` as `pid`: a PENDING job is RUNNING, where it runs
  // is recorded whatever happened meanwhile (it may have finished already). FAILED_PRECONDITION
  // when a stop was asked meanwhile: the caller stops it.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> DriverStarted(const std::string& job_id,
                                                             const std::string& node_id, int pid);
  // A submitted job's driver ended as `exit` says (exit code -1: it never started or its node
  // died, `exit.message` says why):
  // SUCCEEDED (exit 0), STOPPED (a stop was asked) or FAILED. Returns the job and whether it
  // was RUNNING until now (its actors and workers must end); nothing for an unknown or
  // hand-run job, or one that already ended that way.
  struct Ended {
    proto::JobInfo job;
    bool was_running = false;
  };
  // `node_id`: where it ran (its exit may come before the news of its start).
  std::optional<Ended> DriverEnded(const std::string& job_id, const proto::WorkerExit& exit,
                                   const std::string& node_id = "");
  // Asks a submitted job to stop: a PENDING one is STOPPED at once, a RUNNING one records when
  // (its driver's end will be STOPPED). FAILED_PRECONDITION for a hand-run or ended job.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> RequestStop(const std::string& job_id);

  // Marks a job FINISHED. NOT_FOUND for an unknown id; finishing twice is fine.
  [[nodiscard]] absl::Status Finish(const std::string& job_id);

  // Marks a RUNNING job FAILED: its driver went away without finishing it. Returns the
  // reason, naming the driver ("owner died: driver of job ... exited without Shutdown", or
  // `how` instead of "exited without Shutdown"), or nothing when the job is unknown or already
  // ended.
  std::optional<std::string> FailIfRunning(const std::string& job_id,
                                           const std::string& how = "exited without Shutdown");

  // NOT_FOUND for an unknown id.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> Get(const std::string& job_id) const;

  std::vector<proto::JobInfo> List() const;

 private:
  // Writes `job` to the store (if any), then into `slot`.
  [[nodiscard]] absl::Status SaveLocked(proto::JobInfo& slot, proto::JobInfo job)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new job's slot, with its id and start time.
  proto::JobInfo NewJobLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  proto::JobInfo* FindLocked(const std::string& job_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<proto::JobInfo> jobs_ ABSL_GUARDED_BY(mu_);
  TableStore* store_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace weft::head
