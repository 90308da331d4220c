#include "raylet/head/job_registry_service.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::head {

// One driver's KeepJob stream. Writes nothing; Finish() is called exactly once: by the
// service (under its lock, while the keeper is listed) or by OnCancel. Deletes itself in
// OnDone, after leaving the service's list.
class JobRegistryService::Keeper final : public grpc::ServerWriteReactor<proto::KeepJobReply> {
 public:
  Keeper(JobRegistryService& service, std::string job_id)
      : service_(service), job_id_(std::move(job_id)) {}
  const std::string& job_id() const { return job_id_; }
  bool finished = false;  // guarded by the service's mu_

  void OnCancel() override { service_.OnKeeperBroken(this); }
  void OnDone() override {
    service_.Forget(this);
    delete this;
  }

 private:
  JobRegistryService& service_;
  const std::string job_id_;
};

JobRegistryService::~JobRegistryService() { CloseKeepers(); }

grpc::ServerWriteReactor<proto::KeepJobReply>* JobRegistryService::KeepJob(
    grpc::CallbackServerContext* ctx, const proto::KeepJobRequest* req) {
  auto* keeper = new Keeper(*this, req->job_id());
  absl::Status refused =
      auth_.Allows(*ctx)
          ? absl::OkStatus()
          : absl::UnauthenticatedError("missing or wrong cluster token (x-weft-token)");
  if (refused.ok()) {
    auto job = jobs_.Get(req->job_id());
    refused = job.status();
    if (job.ok() && job->state() != proto::JOB_RUNNING) {
      refused = absl::FailedPreconditionError(
          absl::StrCat("job ", req->job_id(), " has ended",
                       job->end_reason().empty() ? "" : absl::StrCat(": ", job->end_reason())));
    }
  }
  absl::MutexLock lock(&mu_);
  if (refused.ok() && closing_) refused = absl::UnavailableError("head is shutting down");
  if (refused.ok() && keepers_.contains(req->job_id())) {
    refused = absl::AlreadyExistsError(absl::StrCat("job ", req->job_id(), " is kept already"));
  }
  if (!refused.ok()) {
    keeper->finished = true;
    keeper->Finish(ToGrpcStatus(refused));
    return keeper;
  }
  keepers_[req->job_id()] = keeper;
  awaited_.erase(req->job_id());
  spdlog::info("job kept id={} peer={}", req->job_id(), ctx->peer());
  return keeper;
}

// Only a listed keeper speaks for its job: a refused stream that breaks fails nothing.
void JobRegistryService::OnKeeperBroken(Keeper* keeper) {
  const std::string job_id = keeper->job_id();  // the keeper may be gone once unlocked
  {
    absl::MutexLock lock(&mu_);
    auto it = keepers_.find(keeper->job_id());
    if (closing_ || it == keepers_.end() || it->second != keeper) return;
    if (!keeper->finished) {
      keeper->finished = true;
      keeper->Finish(grpc::Status::CANCELLED);
    }
  }
  if (auto reason = jobs_.FailIfRunning(job_id)) on_finished_(job_id, *reason);
}

void JobRegistryService::EndKeeper(const std::string& job_id, const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  auto it = keepers_.find(job_id);
  if (it == keepers_.end() || it->second->finished) return;
  it->second->finished = true;
  it->second->Finish(status);
}

void JobRegistryService::Forget(Keeper* keeper) {
  absl::MutexLock lock(&mu_);
  auto it = keepers_.find(keeper->job_id());
  if (it != keepers_.end() && it->second == keeper) keepers_.erase(it);
}

void JobRegistryService::AwaitDrivers(const std::vector<std::string>& job_ids,
                                      absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  awaited_.insert(job_ids.begin(), job_ids.end());
  await_until_ = absl::Now() + grace;
}

void JobRegistryService::Tick() {
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&mu_);
    if (awaited_.empty() || absl::Now() < await_until_) return;
    gone.assign(awaited_.begin(), awaited_.end());
    awaited_.clear();
  }
  for (const auto& job_id : gone) {
    if (auto reason = jobs_.FailIfRunning(job_id, "did not come back after the head restarted")) {
      on_finished_(job_id, *reason);
    }
  }
}

void JobRegistryService::CloseKeepers() {
  absl::MutexLock lock(&mu_);
  closing_ = true;
  for (auto& [id, keeper] : keepers_) {
    if (keeper->finished) continue;
    keeper->finished = true;
    keeper->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "head is shutting down"));
  }
}

grpc::ServerUnaryReactor* JobRegistryService::RegisterJob(grpc::CallbackServerContext* ctx,
                                                          const proto::RegisterJobRequest* req,
                                                          proto::RegisterJobReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto job = jobs_.Register(*req);
  if (job.ok()) *rep->mutable_job() = *std::move(job);
  rep->set_max_message_bytes(MaxMessageBytes());
  return FinishWith(ctx, job.status());
}

grpc::ServerUnaryReactor* JobRegistryService::FinishJob(grpc::CallbackServerContext* ctx,
                                                        const proto::FinishJobRequest* req,
                                                        proto::FinishJobReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const absl::Status finished = jobs_.Finish(req->job_id());
  if (finished.ok()) {
    EndKeeper(req->job_id(), grpc::Status::OK);
    on_finished_(req->job_id(), "its job finished");
  }
  return FinishWith(ctx, finished);
}

grpc::ServerUnaryReactor* JobRegistryService::ListJobs(grpc::CallbackServerContext* ctx,
                                                       const proto::ListJobsRequest*,
                                                       proto::ListJobsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& job : jobs_.List()) *rep->add_jobs() = std::move(job);
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* JobRegistryService::GetJob(grpc::CallbackServerContext* ctx,
                                                     const proto::GetJobRequest* req,
                                                     proto::GetJobReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto job = jobs_.Get(req->job_id());
  if (job.ok()) *rep->mutable_job() = *std::move(job);
  return FinishWith(ctx, job.status());
}

grpc::ServerUnaryReactor* JobRegistryService::SubmitJob(grpc::CallbackServerContext* ctx,
                                                        const proto::SubmitJobRequest* req,
                                                        proto::SubmitJobReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto job = submissions_.Submit(req->submission());
  if (job.ok()) *rep->mutable_job() = *std::move(job);
  return FinishWith(ctx, job.status());
}

grpc::ServerUnaryReactor* JobRegistryService::StopJob(grpc::CallbackServerContext* ctx,
                                                      const proto::StopJobRequest* req,
                                                      proto::StopJobReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto job = submissions_.Stop(req->job_id());
  if (job.ok()) *rep->mutable_job() = *std::move(job);
  return FinishWith(ctx, job.status());
}

}  // namespace weft::head
