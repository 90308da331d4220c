#include "raylet/head/job_registry.h"

#include "common/logging.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

#include <string.h>

#include <algorithm>

namespace weft::head {
namespace {

// "SIGKILL" for 9.
std::string SignalName(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  return abbreviation ? absl::StrCat("SIG", abbreviation) : absl::StrCat("signal ", signal);
}

}  // namespace

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

proto::JobInfo JobRegistry::NewJobLocked() const {
  proto::JobInfo job;
  job.set_job_id(absl::StrFormat("job-%04d", jobs_.size() + 1));
  job.set_start_unix_ms(absl::ToUnixMillis(absl::Now()));
  return job;
}

proto::JobInfo* JobRegistry::FindLocked(const std::string& job_id) {
  for (auto& job : jobs_) {
    if (job.job_id() == job_id) return &job;
  }
  return nullptr;
}

absl::StatusOr<proto::JobInfo> JobRegistry::Register(const proto::RegisterJobRequest& request) {
  absl::MutexLock lock(&mu_);
  proto::JobInfo* submitted = nullptr;
  if (!request.job_id().empty()) {
    submitted = FindLocked(request.job_id());
    if (!submitted)
      return absl::NotFoundError(absl::StrCat("job ", request.job_id(), " not found"));
    if (!submitted->has_submission() || JobEnded(submitted->state())) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", request.job_id(),
                       submitted->has_submission() ? " has ended" : " was not submitted"));
    }
  }
  proto::JobInfo job = submitted ? *submitted : NewJobLocked();
  job.set_driver_host(request.driver_host());
  job.set_driver_pid(request.driver_pid());
  if (!submitted) job.set_entrypoint(request.entrypoint());
  job.set_namespace_(request.namespace_());
  *job.mutable_code() = request.code();
  job.set_driver_address(request.driver_address());
  job.set_state(proto::JOB_RUNNING);
  if (submitted) {
    if (auto saved = SaveLocked(*submitted, job); !saved.ok()) return saved;
  } else {
    proto::JobInfo slot;
    if (auto saved = SaveLocked(slot, job); !saved.ok()) return saved;
    jobs_.push_back(std::move(slot));
  }
  spdlog::info("job started id={} driver_pid={} entrypoint=\"{}\"", job.job_id(), job.driver_pid(),
               job.entrypoint());
  return job;
}

absl::StatusOr<proto::JobInfo> JobRegistry::Submit(const proto::JobSubmission& submission) {
  absl::MutexLock lock(&mu_);
  proto::JobInfo job = NewJobLocked();
  *job.mutable_submission() = submission;
  job.set_entrypoint(absl::StrJoin(submission.argv(), " "));
  job.set_driver_host(submission.submitter_host());
  job.set_state(proto::JOB_PENDING);
  proto::JobInfo slot;
  if (auto saved = SaveLocked(slot, job); !saved.ok()) return saved;
  jobs_.push_back(std::move(slot));
  spdlog::info("job submitted id={} entrypoint=\"{}\"", job.job_id(), job.entrypoint());
  return job;
}

absl::StatusOr<proto::JobInfo> JobRegistry::DriverStarted(const std::string& job_id,
                                                          const std::string& node_id, int pid) {
  absl::MutexLock lock(&mu_);
  proto::JobInfo* job = FindLocked(job_id);
  if (!job) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  // Its exit was reported first (its node knew it ran there).
  const bool exited = !job->driver_node_id().empty() && DriverEndKnown(*job);
  // Where it runs is worth keeping whatever happened meanwhile (its output is there).
  proto::JobInfo started = *job;
  if (started.driver_node_id().empty()) started.set_driver_node_id(node_id);
  if (started.driver_pid() == 0) started.set_driver_pid(pid);
  if (started.state() == proto::JOB_PENDING) started.set_state(proto::JOB_RUNNING);
  if (auto saved = SaveLocked(*job, std::move(started)); !saved.ok()) return saved;
  if (job->stop_unix_ms() != 0 && !exited) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " was stopped while its driver started"));
  }
  spdlog::info("job driver started id={} node={} pid={}", job_id, node_id, pid);
  return *job;
}

std::optional<JobRegistry::Ended> JobRegistry::DriverEnded(const std::string& job_id,
                                                           const proto::WorkerExit& exit,
                                                           const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  proto::JobInfo* job = FindLocked(job_id);
  if (!job || !job->has_submission()) return std::nullopt;
  const proto::JobState state = job->state();
  // A driver ends once (a FAILED of its keepalive gives way).
  if (DriverEndKnown(*job)) return std::nullopt;
  proto::JobInfo ended = *job;
  if (ended.driver_node_id().empty()) ended.set_driver_node_id(node_id);
  ended.set_exit_code(exit.exit_code());
  ended.set_exit_signal(exit.signal());
  if (job->stop_unix_ms() != 0) {
    ended.set_state(proto::JOB_STOPPED);
    ended.set_end_reason("stopped (weft job stop)");
  } else if (exit.signal() != 0) {
    ended.set_state(proto::JOB_FAILED);
    ended.set_end_reason(absl::StrCat("its driver was killed by signal ", exit.signal(), " (",
                                      SignalName(exit.signal()), ")"));
  } else if (exit.exit_code() == -1) {  // it never ran, or its node died
    ended.set_state(proto::JOB_FAILED);
    ended.set_end_reason(exit.message());
  } else if (exit.exit_code() != 0) {
    ended.set_state(proto::JOB_FAILED);
    ended.set_end_reason(absl::StrCat("its driver exited with code ", exit.exit_code(),
                                      exit.message().empty() ? "" : ": ", exit.message()));
  } else {
    ended.set_state(proto::JOB_SUCCEEDED);
    ended.clear_end_reason();
  }
  if (ended.end_unix_ms() == 0 || state != proto::JOB_FINISHED) {
    ended.set_end_unix_ms(absl::ToUnixMillis(absl::Now()));
  }
  const bool was_running = !JobEnded(state);
  if (auto saved = SaveLocked(*job, ended); !saved.ok()) {
    spdlog::error("{}", saved.message());
    *job = std::move(ended);  // its driver is gone either way
  }
  spdlog::info("job ended id={} state={} reason=\"{}\"", job_id, proto::JobState_Name(job->state()),
               job->end_reason());
  return Ended{*job, was_running};
}

absl::StatusOr<proto::JobInfo> JobRegistry::RequestStop(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  proto::JobInfo* job = FindLocked(job_id);
  if (!job) return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  if (!job->has_submission()) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " was not submitted: stop its driver (pid ", job->driver_pid(),
                     " on ", job->driver_host(), ") where it runs"));
  }
  if (JobEnded(job->state())) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " has ended (", proto::JobState_Name(job->state()), ")"));
  }
  if (job->stop_unix_ms() != 0) return *job;  // asked already
  proto::JobInfo stopping = *job;
  stopping.set_stop_unix_ms(absl::ToUnixMillis(absl::Now()));
  if (job->state() == proto::JOB_PENDING) {
    stopping.set_state(proto::JOB_STOPPED);
    stopping.set_end_unix_ms(stopping.stop_unix_ms());
    stopping.set_end_reason("stopped (weft job stop) before its driver started");
  }
  if (auto saved = SaveLocked(*job, std::move(stopping)); !saved.ok()) return saved;
  spdlog::info("job stop asked id={}", job_id);
  return *job;
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
