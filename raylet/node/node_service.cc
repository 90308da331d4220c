#include "raylet/node/node_service.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/resources.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/token_holder.h"
#include "worker.grpc.pb.h"

namespace weft::node {

grpc::ServerUnaryReactor* NodeManagerService::SpawnWorker(grpc::CallbackServerContext* ctx,
                                                          const proto::SpawnWorkerRequest* req,
                                                          proto::SpawnWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (auto invalid = ValidateResources(req->required()); !invalid.ok()) {
    return FinishWith(ctx, invalid);
  }
  // Before the worker is started with it (see SpawnWorkerRequest).
  SetMaxMessageBytes(static_cast<int>(req->max_message_bytes()));
  auto* reactor = ctx->DefaultReactor();
  pool_.Start(req->job_id(), req->owner_worker_id(), ToResourceMap(req->required()),
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
    proto::RegisterWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  rep->set_serve_for_ms(ServeForMs());
  const absl::Status registered = pool_.OnRegistered(req->worker_id(), req->address(), req->pid());
  // A worker this node started just as it took a rotated token (its environment has the old
  // one); only a worker it started: whoever knows the old token must not learn the new one.
  if (proto::AdoptTokenRequest told; registered.ok() && RotationToTell(auth_, *ctx, &told)) {
    *rep->mutable_token_rotation() = std::move(told);
  }
  return FinishWith(ctx, registered);
}

grpc::ServerUnaryReactor* NodeManagerService::CheckNode(grpc::CallbackServerContext* ctx,
                                                        const proto::CheckNodeRequest*,
                                                        proto::CheckNodeReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  rep->set_serve_for_ms(ServeForMs());
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NodeManagerService::ProvideCode(grpc::CallbackServerContext* ctx,
                                                          const proto::ProvideCodeRequest* req,
                                                          proto::ProvideCodeReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = ctx->DefaultReactor();
  code_.Provide(req->library(), [reactor, rep](absl::StatusOr<std::string> path) {
    if (path.ok()) rep->set_path(*std::move(path));
    reactor->Finish(ToGrpcStatus(path.status()));
  });
  return reactor;
}

int64_t NodeManagerService::ServeForMs() const {
  if (!serve_for_) return INT64_MAX;
  const absl::Duration left = serve_for_();
  return left == absl::InfiniteDuration() ? INT64_MAX : absl::ToInt64Milliseconds(left);
}

grpc::ServerUnaryReactor* NodeManagerService::KillWorker(grpc::CallbackServerContext* ctx,
                                                         const proto::KillWorkerRequest* req,
                                                         proto::KillWorkerReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (req->retire()) return FinishWith(ctx, Retire(req->worker_id()));
  return FinishWith(ctx, pool_.Kill(req->worker_id(), req->force()));
}

NodeManagerService::~NodeManagerService() {
  absl::MutexLock lock(&retiring_->mu);
  retiring_->pool = nullptr;
}

absl::Status NodeManagerService::Retire(const std::string& worker_id) {
  auto address = pool_.Release(worker_id);
  if (!address.ok()) return address.status();
  proto::ExitRequest exit;
  exit.set_unless_owning(true);
  auto stub = std::shared_ptr<proto::Worker::Stub>(
      proto::Worker::NewStub(MakeChannel(*address, token_)).release());
  CallAsync<proto::ExitReply>(
      ContextWithTimeout(kControlRpcTimeout), std::move(exit),
      [stub](auto... args) { stub->async()->Exit(args...); },
      [retiring = retiring_, stub, worker_id](const absl::Status& status,
                                              const proto::ExitReply& reply) {
        if (!status.ok()) {  // it cannot say what it owns: it holds nothing, stop it
          spdlog::warn("retired worker id={} did not answer: {}", worker_id, status.message());
          absl::MutexLock lock(&retiring->mu);
          if (retiring->pool) (void)retiring->pool->Kill(worker_id, /*force=*/true);
        } else if (!reply.exiting()) {
          spdlog::info("retired worker id={} stays: it owns referenced objects", worker_id);
        }
      });
  return absl::OkStatus();
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
