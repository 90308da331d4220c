#include "raylet/head/job_registry.h"

#include "common/logging.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace weft::head {

proto::JobInfo JobRegistry::Register(const proto::RegisterJobRequest& request) {
  absl::MutexLock lock(&mu_);
  proto::JobInfo job;
  job.set_job_id(absl::StrFormat("job-%04d", jobs_.size() + 1));
  job.set_driver_host(request.driver_host());
  job.set_driver_pid(request.driver_pid());
  job.set_entrypoint(request.entrypoint());
  job.set_namespace_(request.namespace_());
  *job.mutable_code_paths() = request.code_paths();
  job.set_driver_address(request.driver_address());
  job.set_state(proto::JOB_RUNNING);
  job.set_start_unix_ms(absl::ToUnixMillis(absl::Now()));
  jobs_.push_back(job);
  spdlog::info("job started id={} driver_pid={} entrypoint=\"{}\"", job.job_id(), job.driver_pid(),
               job.entrypoint());
  return job;
}

absl::Status JobRegistry::Finish(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  for (auto& job : jobs_) {
    if (job.job_id() != job_id) continue;
    if (job.state() == proto::JOB_RUNNING) {
      job.set_state(proto::JOB_FINISHED);
      job.set_end_unix_ms(absl::ToUnixMillis(absl::Now()));
      spdlog::info("job finished id={}", job_id);
    }
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
}

std::optional<std::string> JobRegistry::FailIfRunning(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  for (auto& job : jobs_) {
    if (job.job_id() != job_id) continue;
    if (job.state() != proto::JOB_RUNNING) return std::nullopt;
    job.set_state(proto::JOB_FAILED);
    job.set_end_unix_ms(absl::ToUnixMillis(absl::Now()));
    job.set_end_reason(absl::StrCat("owner died: driver of job ", job_id, " (pid ",
                                    job.driver_pid(), " on host ", job.driver_host(),
                                    ") exited without Shutdown"));
    spdlog::warn("job failed id={} reason=\"{}\"", job_id, job.end_reason());
    return job.end_reason();
  }
  return std::nullopt;
}

absl::StatusOr<proto::JobInfo> JobRegistry::Get(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  for (const auto& job : jobs_) {
    if (job.job_id() == job_id) return job;
  }
  return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
}

std::vector<proto::JobInfo> JobRegistry::List() const {
  absl::MutexLock lock(&mu_);
  return jobs_;
}

}  // namespace weft::head
