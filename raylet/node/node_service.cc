#include "raylet/node/node_service.h"

#include "raylet/node/driver_stage.h"

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
  if (req->has_driver()) return StartDriver(ctx, *req, rep);
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

grpc::ServerUnaryReactor* NodeManagerService::StartDriver(grpc::CallbackServerContext* ctx,
                                                          const proto::SpawnWorkerRequest& request,
                                                          proto::SpawnWorkerReply* rep) {
  auto* reactor = ctx->DefaultReactor();
  if (jobs_dir_.empty()) {
    reactor->Finish({grpc::StatusCode::FAILED_PRECONDITION, "this node runs no drivers"});
    return reactor;
  }
  const std::string job_id = request.job_id();
  const ResourceMap resources = ToResourceMap(request.required());
  StageDriver(code_, jobs_dir_, job_id, request.driver(),
              [this, ctx, reactor, rep, job_id,
               resources](absl::StatusOr<WorkerPool::DriverLaunch> launch) {
                if (!launch.ok()) return reactor->Finish(ToGrpcStatus(launch.status()));
                pool_.StartDriver(
                    job_id, resources, *std::move(launch),
                    [this, ctx, reactor, rep](absl::StatusOr<proto::WorkerInfo> driver) {
                      if (driver.ok() && ctx->IsCancelled()) {
                        // The head gave up on it: it would run unknown to anyone.
                        (void)pool_.Kill(driver->worker_id(), /*force=*/true);
                        driver = absl::CancelledError("the head gave up before it ran");
                      }
                      if (driver.ok()) {
                        *rep->mutable_worker() = *std::move(driver);
                        rep->set_resource_version(pool_.Current().version);
                      }
                      reactor->Finish(ToGrpcStatus(driver.status()));
                    });
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
  if (req->force()) {
    for (const auto& worker : pool_.List()) {
      if (worker.worker_id() != req->worker_id()) continue;
      if (worker.state() == proto::WORKER_ALIVE && !worker.address().empty()) {
        return KillAfterCallLog(ctx, worker);
      }
      break;
    }
  }
  return FinishWith(ctx, pool_.Kill(req->worker_id(), req->force()));
}

grpc::ServerUnaryReactor* NodeManagerService::KillAfterCallLog(grpc::CallbackServerContext* ctx,
                                                               const proto::WorkerInfo& worker) {
  constexpr std::chrono::milliseconds kAskFor{300};
  auto* reactor = ctx->DefaultReactor();
  auto stub = std::shared_ptr<proto::Worker::Stub>(
      proto::Worker::NewStub(MakeChannel(worker.address(), token_)).release());
  CallAsync<proto::GetCallEventsReply>(
      ContextWithTimeout(kAskFor), proto::GetCallEventsRequest(),
      [stub](auto... args) { stub->async()->GetCallEvents(args...); },
      [retiring = retiring_, stub, worker, reactor](const absl::Status& asked,
                                                    proto::GetCallEventsReply& calls) {
        absl::Status killed = absl::UnavailableError("the node is stopping");
        {
          absl::MutexLock lock(&retiring->mu);
          if (asked.ok() && !calls.events().empty() && retiring->archive) {
            retiring->archive->Keep(worker, std::move(calls));
          }
          if (retiring->pool) killed = retiring->pool->Kill(worker.worker_id(), /*force=*/true);
        }
        reactor->Finish(ToGrpcStatus(killed));
      });
  return reactor;
}

NodeManagerService::~NodeManagerService() {
  absl::MutexLock lock(&retiring_->mu);
  retiring_->pool = nullptr;
  retiring_->archive = nullptr;
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
