#include "raylet/node/node_service.h"

#include "absl/strings/str_cat.h"
#include "common/resources.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::node {

grpc::ServerUnaryReactor* NodeManagerService::SpawnWorker(grpc::CallbackServerContext* ctx,
                                                          const proto::SpawnWorkerRequest* req,
                                                          proto::SpawnWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (auto invalid = ValidateResources(req->required()); !invalid.ok()) {
    return FinishWith(ctx, invalid);
  }
  auto* reactor = ctx->DefaultReactor();
  pool_.Start(req->job_id(), ToResourceMap(req->required()),
              [this, ctx, reactor, rep](absl::StatusOr<proto::WorkerInfo> worker) {
                if (worker.ok() && ctx->IsCancelled()) {
                  // Nobody waits for this worker any more: do not leave it holding resources.
                  (void)pool_.Kill(worker->worker_id(), /*force=*/true);
                  worker = absl::CancelledError("the caller gave up before the worker was ready");
                }
                if (worker.ok()) {
                  *rep->mutable_worker() = *std::move(worker);
                  rep->set_resource_version(pool_.Current().version);
                }
                reactor->Finish(ToGrpcStatus(worker.status()));
              });
  return reactor;
}

grpc::ServerUnaryReactor* NodeManagerService::RegisterWorker(
    grpc::CallbackServerContext* ctx, const proto::RegisterWorkerRequest* req,
    proto::RegisterWorkerReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, pool_.OnRegistered(req->worker_id(), req->address(), req->pid()));
}

grpc::ServerUnaryReactor* NodeManagerService::KillWorker(grpc::CallbackServerContext* ctx,
                                                         const proto::KillWorkerRequest* req,
                                                         proto::KillWorkerReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, pool_.Kill(req->worker_id(), req->force()));
}

grpc::ServerUnaryReactor* NodeManagerService::ListWorkers(grpc::CallbackServerContext* ctx,
                                                          const proto::ListWorkersRequest*,
                                                          proto::ListWorkersReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& worker : pool_.List()) *rep->add_workers() = std::move(worker);
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NodeManagerService::GetNodeInfo(grpc::CallbackServerContext* ctx,
                                                          const proto::GetNodeInfoRequest*,
                                                          proto::GetNodeInfoReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  *rep->mutable_node() = node_info_();
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NodeManagerService::NotifyWorkerBlocked(
    grpc::CallbackServerContext* ctx, const proto::NotifyWorkerBlockedRequest* req,
    proto::NotifyWorkerBlockedReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto holds_cpu = pool_.SetBlocked(req->worker_id(), req->blocked());
  if (holds_cpu.ok()) rep->set_holds_cpu(*holds_cpu);
  return FinishWith(ctx, holds_cpu.status());
}

}  // namespace weft::node
