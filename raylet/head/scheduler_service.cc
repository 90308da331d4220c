#include "raylet/head/scheduler_service.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::head {

grpc::ServerUnaryReactor* SchedulerService::LeaseWorker(grpc::CallbackServerContext* ctx,
                                                        const proto::LeaseWorkerRequest* req,
                                                        proto::LeaseWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (auto invalid = ValidateResources(req->required()); !invalid.ok()) {
    return FinishWith(ctx, invalid);
  }
  auto reservation = nodes_.Reserve(ToResourceMap(req->required()));
  if (!reservation.ok()) return FinishWith(ctx, reservation.status());

  proto::SpawnWorkerRequest spawn;
  spawn.set_job_id(req->job_id());
  *spawn.mutable_required() = req->required();
  auto context = grpc::ClientContext::FromCallbackServerContext(*ctx);
  if (!Track(context.get())) {
    nodes_.Release(*reservation);
    return FinishWith(ctx, absl::UnavailableError("head is shutting down"));
  }
  auto* reactor = ctx->DefaultReactor();
  rep->set_node_address(reservation->node.address());
  grpc::ClientContext* call = context.get();
  CallAsync<proto::SpawnWorkerReply>(
      std::move(context), std::move(spawn),
      [this, &reservation](auto... args) {
        NodeStub(reservation->node.address()).async()->SpawnWorker(args...);
      },
      [this, call, reactor, rep, held = *reservation](absl::Status status,
                                                      proto::SpawnWorkerReply& spawned) {
        Untrack(call);
        if (status.ok()) {
          nodes_.SettleAfter(held, spawned.resource_version());
          *rep->mutable_worker() = std::move(*spawned.mutable_worker());
        } else {
          nodes_.Release(held);
          status = absl::Status(status.code(),
                                absl::StrCat("node ", held.node.node_id(),
                                             " could not start a worker: ", status.message()));
        }
        reactor->Finish(ToGrpcStatus(status));
      });
  return reactor;
}

void SchedulerService::CancelAll() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* call : in_flight_) call->TryCancel();
}

bool SchedulerService::Track(grpc::ClientContext* call) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  in_flight_.insert(call);
  return true;
}

void SchedulerService::Untrack(grpc::ClientContext* call) {
  absl::MutexLock lock(&mu_);
  in_flight_.erase(call);
}

proto::NodeManager::Stub& SchedulerService::NodeStub(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& stub = stubs_[address];
  if (!stub) stub = proto::NodeManager::NewStub(MakeChannel(address, token_));
  return *stub;
}

}  // namespace weft::head
