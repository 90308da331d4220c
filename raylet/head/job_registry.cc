#include "raylet/head/job_registry.h"

#include "common/logging.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

#include <algorithm>

namespace weft::head {

absl::StatusOr<std::vector<std::string>> JobRegistry::Recover(TableStore& store) {
  auto jobs = LoadMessages<proto::JobInfo>(store, kJobsTable);
  if (!jobs.ok()) return jobs.status();
  // Keys sort as text ("job-10000" before "job-9999"); ids are numbered in start order.
  std::sort(jobs->begin(), jobs->end(), [](const proto::JobInfo& a, const proto::JobInfo& b) {
    return std::make_pair(a.job_id().size(), a.job_id()) <
           std::make_pair(b.job_id().size(), b.job_id());
  });
  absl::MutexLock lock(&mu_);
  store_ = &store;
  jobs_ = *std::move(jobs);
  std::vector<std::string> running;
  for (const auto& job : jobs_) {
    if (job.state() == proto::JOB_RUNNING) running.push_back(job.job_id());
  }
  return running;
}

absl::Status JobRegistry::SaveLocked(proto::JobInfo& slot, proto::JobInfo job) {
  if (auto stored = Persist(store_, {RowOf(kJobsTable, job.job_id(), job)}); !stored.ok()) {
    return stored;
  }
  slot = std::move(job);
  return absl::OkStatus();
}

absl::StatusOr<proto::JobInfo> JobRegistry::Register(const proto::RegisterJobRequest& request) {
  absl::MutexLock lock(&mu_);
  proto::JobInfo job;
  job.set_job_id(absl::StrFormat("job-%04d", jobs_.size() + 1));
  job.set_driver_host(request.driver_host());
  job.set_driver_pid(request.driver_pid());
  job.set_entrypoint(request.entrypoint());
  job.set_namespace_(request.namespace_());
  *job.mutable_code() = request.code();
  job.set_driver_address(request.driver_address());
  job.set_state(proto::JOB_RUNNING);
  job.set_start_unix_ms(absl::ToUnixMillis(absl::Now()));
  proto::JobInfo slot;
  if (auto saved = SaveLocked(slot, job); !saved.ok()) return saved;
  jobs_.push_back(std::move(slot));
  spdlog::info("job started id={} driver_pid={} entrypoint=\"{}\"", job.job_id(), job.driver_pid(),
               job.entrypoint());
  return job;
}

absl::Status JobRegistry::Finish(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  for (auto& job : jobs_) {
    if (job.job_id() != job_id) continue;
    if (job.state() == proto::JOB_RUNNING) {
      proto::JobInfo finished = job;
      finished.set_state(proto::JOB_FINISHED);
      finished.set_end_unix_ms(absl::ToUnixMillis(absl::Now()));
      if (auto saved = SaveLocked(job, std::move(finished)); !saved.ok()) return saved;
      spdlog::info("job finished id={}", job_id);
    }
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
}

std::optional<std::string> JobRegistry::FailIfRunning(const std::string& job_id,
                                                      const std::string& how) {
  absl::MutexLock lock(&mu_);
  for (auto& job : jobs_) {
    if (job.job_id() != job_id) continue;
    if (job.state() != proto::JOB_RUNNING) return std::nullopt;
    proto::JobInfo failed = job;
    failed.set_state(proto::JOB_FAILED);
    failed.set_end_unix_ms(absl::ToUnixMillis(absl::Now()));
    failed.set_end_reason(absl::StrCat("owner died: driver of job ", job_id, " (pid ",
                                       job.driver_pid(), " on host ", job.driver_host(), ") ",
                                       how));
    // The job ends either way (its driver is gone); a restarted head would fail it again.
    if (auto saved = SaveLocked(job, failed); !saved.ok()) {
      spdlog::error("{}", saved.message());
      job = std::move(failed);
    }
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
