#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "head.pb.h"

namespace weft::head {

// Jobs, one per connected driver, with ids "job-0001", "job-0002", ... in start order.
// Thread-safe.
class JobRegistry {
 public:
  proto::JobInfo Register(const proto::RegisterJobRequest& request);

  // Marks a job FINISHED. NOT_FOUND for an unknown id; finishing twice is fine.
  [[nodiscard]] absl::Status Finish(const std::string& job_id);

  // Marks a RUNNING job FAILED: its driver went away without finishing it. Returns the
  // reason, naming the driver ("owner died: driver of job ... exited without Shutdown"), or
  // nothing when the job is unknown or already ended.
  std::optional<std::string> FailIfRunning(const std::string& job_id);

  // NOT_FOUND for an unknown id.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> Get(const std::string& job_id) const;

  std::vector<proto::JobInfo> List() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<proto::JobInfo> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
