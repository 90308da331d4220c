#include "raylet/head/scheduler_service.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::head {
namespace {

// Longest a head waits for a node to start a worker (the node's own start timeout is 30 s).
constexpr std::chrono::seconds kNodeCallTimeout{40};

}  // namespace

// Finishes one lease. If the lease carried a worker but never reached the caller (it gave up
// or went away), the worker has no owner: it is killed rather than left holding resources.
class SchedulerService::LeaseReactor final : public grpc::ServerUnaryReactor {
 public:
  LeaseReactor(SchedulerService& service, grpc::CallbackServerContext* ctx,
               proto::LeaseWorkerReply* reply)
      : service_(service), ctx_(ctx), reply_(reply) {}

  void Finish(const absl::Status& status) {
    grpc::ServerUnaryReactor::Finish(ToGrpcStatus(status));
  }

  void OnDone() override {
    if (reply_->has_worker() && ctx_->IsCancelled()) {
      spdlog::warn("lease not delivered; killing its worker id={} node={}",
                   reply_->worker().worker_id(), reply_->node_address());
      service_.KillWorker(reply_->node_address(), reply_->worker().worker_id());
    }
    delete this;
  }

 private:
  SchedulerService& service_;
  grpc::CallbackServerContext* ctx_;
  proto::LeaseWorkerReply* reply_;
};

grpc::ServerUnaryReactor* SchedulerService::LeaseWorker(grpc::CallbackServerContext* ctx,
                                                        const proto::LeaseWorkerRequest* req,
                                                        proto::LeaseWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = new LeaseReactor(*this, ctx, rep);
  Lease(req->job_id(), req->required(),
        [reactor, rep](absl::StatusOr<proto::LeaseWorkerReply> leased) {
          if (leased.ok()) *rep = *std::move(leased);
          reactor->Finish(leased.status());
        });
  return reactor;
}

void SchedulerService::Lease(const std::string& job_id, const ProtoResources& required,
                             LeaseDone done) {
  if (auto invalid = ValidateResources(required); !invalid.ok()) return done(invalid);
  auto reservation = nodes_.Reserve(ToResourceMap(required));
  if (!reservation.ok()) return done(reservation.status());

  proto::SpawnWorkerRequest spawn;
  spawn.set_job_id(job_id);
  *spawn.mutable_required() = required;
  auto context = ContextWithTimeout(kNodeCallTimeout);
  if (!Track(context.get(), reservation->node.node_id())) {
    nodes_.Release(*reservation);
    return done(absl::UnavailableError("head is shutting down"));
  }
  grpc::ClientContext* call = context.get();
  CallAsync<proto::SpawnWorkerReply>(
      std::move(context), std::move(spawn),
      [this, &reservation](auto... args) {
        NodeStub(reservation->node.address()).async()->SpawnWorker(args...);
      },
      [this, call, done = std::move(done), held = *reservation](absl::Status status,
                                                                proto::SpawnWorkerReply& spawned) {
        Untrack(call);
        if (!status.ok()) {
          nodes_.Release(held);
          return done(absl::Status(status.code(),
                                   absl::StrCat("node ", held.node.node_id(),
                                                " could not start a worker: ", status.message())));
        }
        nodes_.SettleAfter(held, spawned.resource_version());
        {
          absl::MutexLock lock(&mu_);
          leased_[spawned.worker().job_id()].push_back(
              {held.node.address(), spawned.worker().worker_id()});
        }
        proto::LeaseWorkerReply leased;
        *leased.mutable_worker() = std::move(*spawned.mutable_worker());
        leased.set_node_address(held.node.address());
        done(std::move(leased));
      });
}

void SchedulerService::KillWorker(const std::string& node_address, const std::string& worker_id) {
  proto::KillWorkerRequest kill;
  kill.set_worker_id(worker_id);
  kill.set_force(true);
  CallAsync<proto::KillWorkerReply>(
      ContextWithTimeout(kControlRpcTimeout), std::move(kill),
      [this, &node_address](auto... args) { NodeStub(node_address).async()->KillWorker(args...); },
      [worker_id](const absl::Status& status, const auto&) {
        if (!status.ok())
          spdlog::warn("could not kill worker id={}: {}", worker_id, status.message());
      });
}

void SchedulerService::ReleaseJob(const std::string& job_id,
                                  const absl::flat_hash_set<std::string>& keep) {
  std::vector<Leased> ending, kept;
  {
    absl::MutexLock lock(&mu_);
    auto it = leased_.find(job_id);
    if (it == leased_.end()) return;
    for (auto& leased : it->second) {
      (keep.contains(leased.worker_id) ? kept : ending).push_back(std::move(leased));
    }
    leased_.erase(it);
    if (!kept.empty()) leased_[job_id] = std::move(kept);
  }
  for (const auto& leased : ending) {
    spdlog::info("job finished; stopping its worker id={} job={}", leased.worker_id, job_id);
    KillWorker(leased.node_address, leased.worker_id);
  }
}

void SchedulerService::CancelNode(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  for (const auto& [call, node] : in_flight_) {
    if (node == node_id) call->TryCancel();
  }
}

void SchedulerService::CancelAll() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (const auto& [call, node] : in_flight_) call->TryCancel();
}

bool SchedulerService::Track(grpc::ClientContext* call, const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  in_flight_.emplace(call, node_id);
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
