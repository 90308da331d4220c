#include "raylet/node/node_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::node {

grpc::ServerUnaryReactor* NodeManagerService::SpawnWorker(grpc::CallbackServerContext* ctx,
                                                          const proto::SpawnWorkerRequest* req,
                                                          proto::SpawnWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  ResourceMap required(req->required().begin(), req->required().end());
  for (const auto& [name, amount] : required) {
    if (amount < 0) {
      return FinishWith(ctx, absl::InvalidArgumentError(
                                 absl::StrCat("resource ", name, " must not be negative")));
    }
  }
  auto* reactor = ctx->DefaultReactor();
  pool_.Start(req->job_id(), required, [reactor, rep](absl::StatusOr<proto::WorkerInfo> worker) {
    if (worker.ok()) *rep->mutable_worker() = *std::move(worker);
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

}  // namespace weft::node
