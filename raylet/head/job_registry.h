#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "head.pb.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {

// Jobs, one per connected driver, with ids "job-0001", "job-0002", ... in start order.
// Thread-safe.
class JobRegistry {
 public:
  // Loads the jobs kept in `store` (a restarted head) and writes every later change there
  // before it is acknowledged. Call once, before serving. Returns the jobs still RUNNING.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> Recover(TableStore& store);

  // UNAVAILABLE when the change cannot be stored.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> Register(const proto::RegisterJobRequest& request);

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

  mutable absl::Mutex mu_;
  std::vector<proto::JobInfo> jobs_ ABSL_GUARDED_BY(mu_);
  TableStore* store_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace weft::head
