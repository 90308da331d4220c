#include "raylet/head/job_registry_service.h"

#include "common/logging.h"
#include "common/rpc.h"

namespace weft::head {

grpc::ServerUnaryReactor* JobRegistryService::RegisterJob(grpc::CallbackServerContext* ctx,
                                                          const proto::RegisterJobRequest* req,
                                                          proto::RegisterJobReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  *rep->mutable_job() = jobs_.Register(*req);
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* JobRegistryService::FinishJob(grpc::CallbackServerContext* ctx,
                                                        const proto::FinishJobRequest* req,
                                                        proto::FinishJobReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const absl::Status finished = jobs_.Finish(req->job_id());
  if (finished.ok()) on_finished_(req->job_id());
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

}  // namespace weft::head
