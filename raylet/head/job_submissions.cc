#include "raylet/head/job_submissions.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/code_library.h"
#include "common/code_upload.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/resources.h"
#include "raylet/head/placement.h"

namespace weft::head {
namespace {

// A working directory's file: a relative path without "." or ".." parts.
absl::Status CheckWorkingDirFile(const proto::CodeLibrary& file) {
  proto::CodeLibrary named = file;
  named.set_name("file");  // the hash and size as any library's
  if (auto status = CheckLibrary(named); !status.ok()) return status;
  const std::string& name = file.name();
  if (name.empty() || name.size() > 4096 || name.front() == '/' || name.back() == '/' ||
      absl::StrContains(name, "//") || name.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("bad working directory path \"", name, "\""));
  }
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("working directory path \"", name, "\" leaves the directory"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSubmission(const proto::JobSubmission& submission,
                             const JobSubmissions::HasCodeFn& has_code) {
  if (submission.argv().empty() || submission.argv(0).empty()) {
    return absl::InvalidArgumentError("a submitted job needs an entrypoint (argv)");
  }
  if (!submission.has_executable()) {
    return absl::InvalidArgumentError("a submitted job needs its executable");
  }
  if (auto status = ValidateResources(submission.resources()); !status.ok()) return status;
  for (const auto& [name, value] : submission.env()) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad environment variable \"", name, "\""));
    }
  }
  std::vector<const proto::CodeLibrary*> files{&submission.executable()};
  for (const auto& library : submission.libraries()) {
    if (auto status = CheckLibrary(library); !status.ok()) return status;
    files.push_back(&library);
  }
  if (auto status = CheckLibrary(submission.executable()); !status.ok()) return status;
  if (submission.working_dir_size() > kMaxWorkingDirFiles) {
    return absl::InvalidArgumentError(
        absl::StrCat("the working directory has ", submission.working_dir_size(),
                     " files; at most ", kMaxWorkingDirFiles, " are taken"));
  }
  int64_t bytes = 0;
  for (const auto& file : submission.working_dir()) {
    if (auto status = CheckWorkingDirFile(file); !status.ok()) return status;
    bytes += file.size();
    files.push_back(&file);
  }
  if (bytes > kMaxWorkingDirBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the working directory holds ", bytes,
                                                   " bytes; at most ", kMaxWorkingDirBytes,
                                                   " are taken"));
  }
  for (const auto* file : files) {
    if (!has_code(file->sha256())) {
      return absl::InvalidArgumentError(absl::StrCat("the head has no copy of ", file->name(), " (",
                                                     file->sha256(),
                                                     "): send it first (CodeStore.PutCode)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<proto::JobInfo> JobSubmissions::Submit(proto::JobSubmission submission) {
  if (auto invalid = CheckSubmission(submission, has_code_); !invalid.ok()) return invalid;
  const auto alive = nodes_.ListAlive();
  if (alive.empty()) return absl::UnavailableError("no node is alive to run the job's driver");
  if (auto placed = PickNode(alive, ToResourceMap(submission.resources()));
      !placed.ok() && placed.status().code() == absl::StatusCode::kUnavailable) {
    return absl::InvalidArgumentError(
        absl::StrCat("no node can run the job's driver: ", placed.status().message()));
  }
  auto job = jobs_.Submit(submission);
  if (!job.ok()) return job.status();
  Launch(*job);
  return jobs_.Get(job->job_id());
}

void JobSubmissions::Launch(const proto::JobInfo& job) {
  LeaseOptions options;
  options.driver = std::make_shared<proto::JobSubmission>(job.submission());
  options.on_enqueued = [this, job_id = job.job_id()](uint64_t id) {
    absl::MutexLock lock(&mu_);  // under the scheduler's lock: never takes it
    queued_[job_id] = id;
  };
  scheduler_.Lease(
      job.job_id(), job.submission().resources(),
      [this, job_id = job.job_id()](absl::StatusOr<proto::LeaseWorkerReply> leased) {
        {
          absl::MutexLock lock(&mu_);
          queued_.erase(job_id);
          if (closing_ && !leased.ok()) return;  // PENDING for the next head
        }
        if (!leased.ok()) {
          proto::WorkerExit never;
          never.set_exit_code(-1);
          never.set_message(
              absl::StrCat("could not start its driver: ", leased.status().message()));
          return End(job_id, never);
        }
        const auto& driver = leased->worker();
        auto started = jobs_.DriverStarted(job_id, driver.node_id(), driver.pid());
        if (started.status().code() == absl::StatusCode::kFailedPrecondition) {
          spdlog::info("stopping the driver of job {}: {}", job_id, started.status().message());
          Terminate(job_id, leased->node_address());
        }
      },
      std::move(options));
}

absl::StatusOr<proto::JobInfo> JobSubmissions::Stop(const std::string& job_id) {
  auto job = jobs_.RequestStop(job_id);
  if (!job.ok()) return job;
  if (job->state() == proto::JOB_STOPPED) {  // it was PENDING: its lease leaves the queue
    uint64_t queued = 0;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = queued_.find(job_id); it != queued_.end()) queued = it->second;
    }
    if (queued != 0) scheduler_.CancelQueued(queued);
    return job;
  }
  if (job->driver_node_id().empty()) return job;  // starting: Launch stops it once it runs
  const auto node = nodes_.Get(job->driver_node_id());
  if (!node || node->state() != proto::NODE_ALIVE) return job;  // it ends with its node
  Terminate(job_id, node->address());
  return job;
}

void JobSubmissions::Terminate(const std::string& job_id, const std::string& node_address) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_.emplace(job_id, Stopping{absl::Now() + stop_grace_, node_address}).second) {
      return;  // asked before
    }
  }
  scheduler_.TerminateWorker(node_address, DriverWorkerId(job_id));
}

void JobSubmissions::Tick() {
  std::vector<std::pair<std::string, Stopping>> overdue;  // their exits did not come (End)
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (auto it = stopping_.begin(); it != stopping_.end();) {
      if (it->second.kill_at > now) {
        ++it;
        continue;
      }
      overdue.emplace_back(it->first, std::move(it->second));
      stopping_.erase(it++);
    }
  }
  for (const auto& [job_id, stopping] : overdue) {
    spdlog::warn("job {}: its driver outlived the stop's grace of {}: SIGKILL", job_id,
                 absl::FormatDuration(stop_grace_));
    scheduler_.KillWorker(stopping.node_address, DriverWorkerId(job_id));
  }
}

void JobSubmissions::OnWorkerExit(const proto::WorkerInfo& worker) {
  if (!worker.driver()) return;
  End(worker.job_id(), worker.exit(), worker.node_id());
}

void JobSubmissions::Close() {
  absl::MutexLock lock(&mu_);
  closing_ = true;
}

void JobSubmissions::OnNodeDead(const std::string& node_id) {
  for (const auto& job : jobs_.List()) {
    if (!job.has_submission() || job.driver_node_id() != node_id) continue;
    proto::WorkerExit lost;  // unless its driver's exit was reported (DriverEnded says)
    lost.set_exit_code(-1);
    lost.set_message(absl::StrCat("its node ", node_id, " died"));
    End(job.job_id(), lost);
  }
}

void JobSubmissions::End(const std::string& job_id, const proto::WorkerExit& exit,
                         const std::string& node_id) {
  {
    absl::MutexLock lock(&mu_);
    stopping_.erase(job_id);
  }
  auto ended = jobs_.DriverEnded(job_id, exit, node_id);
  if (ended && ended->was_running) on_ended_(job_id, ended->job.end_reason());
}

void JobSubmissions::Recover() {
  for (const auto& job : jobs_.List()) {
    if (job.has_submission() && job.state() == proto::JOB_PENDING) Launch(job);
  }
}

}  // namespace weft::head
