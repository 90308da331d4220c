#include "raylet/head/scheduler_service.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::head {
namespace {

// Longest a head waits for a node to start a worker (the node's own start timeout is 30 s).
constexpr std::chrono::seconds kNodeCallTimeout{40};
constexpr std::chrono::minutes kDriverStartTimeout{5};
// A queued LeaseWorker call is answered ("still queued") after this long, or kMargin before
// its caller's deadline, whichever comes first; the caller then asks again.
constexpr absl::Duration kLongPoll = absl::Seconds(15);
constexpr absl::Duration kMargin = absl::Seconds(2);

}  // namespace

// Finishes one lease. If the lease carried a worker but never reached the caller (it gave up
// or went away), the worker has no owner: it is killed rather than left holding resources.
// A caller that goes away while its request is queued takes the request out of the queue.
class SchedulerService::LeaseReactor final : public grpc::ServerUnaryReactor {
 public:
  LeaseReactor(SchedulerService& service, grpc::CallbackServerContext* ctx,
               proto::LeaseWorkerReply* reply)
      : service_(service), ctx_(ctx), reply_(reply) {}

  void Finish(const absl::Status& status) {
    grpc::ServerUnaryReactor::Finish(ToGrpcStatus(status));
  }
  void set_queue_id(uint64_t id) { queue_id_ = id; }

  void OnCancel() override { service_.CancelQueued(queue_id_.load()); }

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
  std::atomic<uint64_t> queue_id_{0};
};

grpc::ServerUnaryReactor* SchedulerService::LeaseWorker(grpc::CallbackServerContext* ctx,
                                                        const proto::LeaseWorkerRequest* req,
                                                        proto::LeaseWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = new LeaseReactor(*this, ctx, rep);
  // Answer a queued request while the caller still listens, with time left for it to ask again.
  const auto left = absl::FromChrono(ctx->deadline() - std::chrono::system_clock::now());
  const absl::Duration poll = std::max(absl::ZeroDuration(), std::min(kLongPoll, left - kMargin));
  LeaseOptions options;
  options.deadline = MonotonicNow() + poll;
  // The id is handed over before the reactor can finish (and be deleted).
  options.on_enqueued = [reactor](uint64_t id) { reactor->set_queue_id(id); };
  options.owner_worker_id = req->owner_worker_id();
  Lease(
      req->job_id(), req->required(),
      [reactor, rep](absl::StatusOr<proto::LeaseWorkerReply> leased) {
        if (leased.ok()) *rep = *std::move(leased);
        reactor->Finish(leased.status());
      },
      std::move(options));
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::ReturnWorker(grpc::CallbackServerContext* ctx,
                                                         const proto::ReturnWorkerRequest* req,
                                                         proto::ReturnWorkerReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  std::optional<Leased> returned;
  {
    absl::MutexLock lock(&mu_);
    auto it = leased_.find(req->job_id());
    if (it != leased_.end()) {
      for (auto& leased : it->second) {
        if (leased.worker_id != req->worker_id() || leased.returned) continue;
        leased.returned = true;  // still listed: the job's end stops it if it stayed
        returned = leased;
        break;
      }
    }
  }
  if (!returned) {
    return FinishWith(
        ctx, absl::NotFoundError(absl::StrCat("worker ", req->worker_id(), " is not leased to job ",
                                              req->job_id())));
  }
  spdlog::info("lease returned; retiring its worker id={} job={}", returned->worker_id,
               req->job_id());
  RetireWorker(returned->node_address, returned->worker_id);
  return FinishWith(ctx, absl::OkStatus());
}

uint64_t SchedulerService::Lease(const std::string& job_id, const ProtoResources& required,
                                 LeaseDone done, LeaseOptions options) {
  if (auto invalid = ValidateResources(required); !invalid.ok()) {
    done(invalid);
    return 0;
  }
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      id = EnqueueLocked(Waiting{job_id, required, options.node_id, std::move(done),
                                 options.deadline, std::move(options.on_enqueued),
                                 std::move(options.owner_worker_id), std::move(options.driver)});
    }
  }
  if (id == 0) {
    done(absl::UnavailableError("head is shutting down"));
    return 0;
  }
  GrantQueued();  // FIFO: a request never passes older ones of its shape
  std::string reason;
  {
    absl::MutexLock lock(&mu_);
    if (!waiting_.contains(id)) return 0;
    reason = QueuedReasonLocked(ToResourceMap(required));
  }
  spdlog::info("lease queued job={} {}", job_id, reason);
  if (options.on_queued) options.on_queued(reason);
  return id;
}

uint64_t SchedulerService::EnqueueLocked(Waiting waiting) {
  const uint64_t id = queue_.Add(ToResourceMap(waiting.required), MonotonicNow(), waiting.deadline);
  if (waiting.on_enqueued) waiting.on_enqueued(id);
  waiting_.emplace(id, std::move(waiting));
  return id;
}

std::string SchedulerService::QueuedReasonLocked(const ResourceMap& required) {
  return absl::StrCat("waiting for resources: ", FormatResources(required),
                      " is not free on any node right now (", queue_.size(),
                      " lease requests queued)");
}

void SchedulerService::CancelQueued(uint64_t id) {
  LeaseDone done;
  {
    absl::MutexLock lock(&mu_);
    auto it = waiting_.find(id);
    if (id == 0 || it == waiting_.end() || !queue_.Remove(id)) return;
    done = std::move(it->second.done);
    waiting_.erase(it);
  }
  done(absl::CancelledError("the caller went away while its lease was queued"));
}

void SchedulerService::GrantQueued() {
  std::vector<Waiting> granted, failed;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() == 0) return;
    std::vector<uint64_t> granted_ids, failed_ids;
    queue_.Grant(
        MonotonicNow(),
        [this](uint64_t id, const ResourceMap& required) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          Waiting& waiting = waiting_.at(id);
          auto reservation = nodes_.Reserve(required, waiting.node_id);
          if (reservation.ok()) {
            waiting.reservation = *std::move(reservation);
            return LeaseQueue::Fit::kGranted;
          }
          if (reservation.status().code() == absl::StatusCode::kResourceExhausted) {
            return LeaseQueue::Fit::kNoRoom;
          }
          waiting.failed = reservation.status();
          return LeaseQueue::Fit::kInfeasible;
        },
        granted_ids, failed_ids);
    for (auto [ids, out] : {std::pair{&granted_ids, &granted}, std::pair{&failed_ids, &failed}}) {
      for (uint64_t id : *ids) {
        auto it = waiting_.find(id);
        out->push_back(std::move(it->second));
        waiting_.erase(it);
      }
    }
  }
  for (auto& waiting : failed) waiting.done(waiting.failed);
  for (auto& waiting : granted) Spawn(std::move(waiting));
}

void SchedulerService::Tick() {
  std::vector<std::pair<LeaseDone, std::string>> expired;
  {
    absl::MutexLock lock(&mu_);
    for (uint64_t id : queue_.Expire(MonotonicNow())) {
      auto it = waiting_.find(id);
      expired.emplace_back(std::move(it->second.done),
                           QueuedReasonLocked(ToResourceMap(it->second.required)));
      waiting_.erase(it);
    }
  }
  for (auto& [done, reason] : expired) {
    proto::LeaseWorkerReply still;
    still.set_queued(true);
    still.set_queued_reason(std::move(reason));
    done(std::move(still));
  }
  GrantQueued();
}

void SchedulerService::DescribeQueue(proto::ListNodesReply& reply) {
  absl::MutexLock lock(&mu_);
  reply.set_queued_leases(static_cast<int>(queue_.size()));
  for (auto& line : queue_.Describe(MonotonicNow())) reply.add_queued_reasons(std::move(line));
}

void SchedulerService::Spawn(Waiting waiting) {
  const NodeDirectory::Reservation held = *waiting.reservation;
  proto::SpawnWorkerRequest spawn;
  spawn.set_job_id(waiting.job_id);
  spawn.set_owner_worker_id(waiting.owner_worker_id);
  spawn.set_max_message_bytes(MaxMessageBytes());
  *spawn.mutable_required() = waiting.required;
  if (waiting.driver) *spawn.mutable_driver() = *waiting.driver;
  // A driver's node fetches its files first (up to 100 MiB of working directory and more).
  auto context = ContextWithTimeout(waiting.driver ? kDriverStartTimeout : kNodeCallTimeout);
  if (!Track(context.get(), held.node.node_id())) {
    nodes_.Release(held);
    return waiting.done(absl::UnavailableError("head is shutting down"));
  }
  grpc::ClientContext* call = context.get();
  auto owner = std::make_shared<Waiting>(std::move(waiting));  // the reply callback is const
  CallAsync<proto::SpawnWorkerReply>(
      std::move(context), std::move(spawn),
      [this, &held](auto... args) { NodeStub(held.node.address()).async()->SpawnWorker(args...); },
      [this, call, owner, held](absl::Status status, proto::SpawnWorkerReply& spawned) {
        Untrack(call);
        if (!status.ok()) {
          nodes_.Release(held);
          if (status.code() == absl::StatusCode::kResourceExhausted) {
            // The node counted differently (a heartbeat was on its way): wait for the next,
            // with the caller's deadline, under a new id its caller learns.
            absl::MutexLock lock(&mu_);
            owner->reservation.reset();
            EnqueueLocked(std::move(*owner));
            return;
          }
          return owner->done(absl::Status(
              status.code(), absl::StrCat("node ", held.node.node_id(),
                                          " could not start a worker: ", status.message())));
        }
        nodes_.SettleAfter(held, spawned.resource_version());
        if (!owner->driver) {
          absl::MutexLock lock(&mu_);
          leased_[spawned.worker().job_id()].push_back(
              {held.node.address(), spawned.worker().worker_id(), false, owner->owner_worker_id});
        }
        proto::LeaseWorkerReply leased;
        *leased.mutable_worker() = std::move(*spawned.mutable_worker());
        leased.set_node_address(held.node.address());
        owner->done(std::move(leased));
      });
}

void SchedulerService::KillWorker(const std::string& node_address, const std::string& worker_id) {
  proto::KillWorkerRequest kill;
  kill.set_force(true);
  StopWorker(node_address, worker_id, std::move(kill));
}

void SchedulerService::TerminateWorker(const std::string& node_address,
                                       const std::string& worker_id) {
  StopWorker(node_address, worker_id, proto::KillWorkerRequest());
}

void SchedulerService::RetireWorker(const std::string& node_address, const std::string& worker_id) {
  proto::KillWorkerRequest retire;
  retire.set_retire(true);
  StopWorker(node_address, worker_id, std::move(retire));
}

void SchedulerService::StopWorker(const std::string& node_address, const std::string& worker_id,
                                  proto::KillWorkerRequest request) {
  request.set_worker_id(worker_id);
  const char* what = request.retire() ? "retire" : "kill";
  CallAsync<proto::KillWorkerReply>(
      ContextWithTimeout(kControlRpcTimeout), std::move(request),
      [this, &node_address](auto... args) { NodeStub(node_address).async()->KillWorker(args...); },
      [worker_id, what](const absl::Status& status, const auto&) {
        if (!status.ok())
          spdlog::warn("could not {} worker id={}: {}", what, worker_id, status.message());
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
      // Detached actors live on, with the workers they leased for their tasks.
      const bool kept_on = keep.contains(leased.worker_id) || keep.contains(leased.owner_worker_id);
      (kept_on ? kept : ending).push_back(std::move(leased));
    }
    leased_.erase(it);
    if (!kept.empty()) leased_[job_id] = std::move(kept);
  }
  for (const auto& leased : ending) {
    spdlog::info("job finished; stopping its worker id={} job={}", leased.worker_id, job_id);
    KillWorker(leased.node_address, leased.worker_id);
  }
}

void SchedulerService::Adopt(const std::string& job_id, const std::string& node_address,
                             const std::string& worker_id, const std::string& owner_worker_id) {
  absl::MutexLock lock(&mu_);
  auto& leases = leased_[job_id];
  for (auto& leased : leases) {
    if (leased.worker_id != worker_id) continue;  // a shared worker of several actors
    if (leased.owner_worker_id.empty()) leased.owner_worker_id = owner_worker_id;
    return;
  }
  leases.push_back(Leased{node_address, worker_id, false, owner_worker_id});
}

void SchedulerService::AdoptWorkersOf(const proto::NodeInfo& node, AdoptDone done) {
  auto context = ContextWithTimeout(kControlRpcTimeout);
  if (!Track(context.get(), node.node_id())) return;  // shutting down
  grpc::ClientContext* call = context.get();
  CallAsync<proto::ListWorkersReply>(
      std::move(context), proto::ListWorkersRequest(),
      [this, address = node.address()](auto... args) {
        NodeStub(address).async()->ListWorkers(args...);
      },
      [this, call, node, done = std::move(done)](const absl::Status& status,
                                                 const proto::ListWorkersReply& reply) {
        Untrack(call);
        if (!status.ok()) {
          spdlog::warn("could not list the workers of node id={} to adopt them: {}", node.node_id(),
                       status.message());
          return done(status);
        }
        absl::flat_hash_set<std::string> jobs;
        for (const auto& worker : reply.workers()) {
          if (worker.state() == proto::WORKER_EXITED || worker.job_id().empty()) continue;
          if (worker.driver()) continue;  // a submitted driver is nobody's lease
          Adopt(worker.job_id(), node.address(), worker.worker_id(), worker.owner_worker_id());
          jobs.insert(worker.job_id());
        }
        spdlog::info("node id={} is back: adopted its workers of {} jobs", node.node_id(),
                     jobs.size());
        done(std::move(jobs));
      });
}

void SchedulerService::OnWorkerExit(const proto::WorkerInfo& worker) {
  std::vector<Leased> orphaned;  // leased by the worker that exited, not given back
  {
    absl::MutexLock lock(&mu_);
    auto it = leased_.find(worker.job_id());
    if (it == leased_.end()) return;
    std::erase_if(it->second, [&](const Leased& l) { return l.worker_id == worker.worker_id(); });
    for (auto& leased : it->second) {
      if (leased.owner_worker_id != worker.worker_id() || leased.returned) continue;
      leased.returned = true;  // still listed until it exits: the job's end stops it if it stays
      orphaned.push_back(leased);
    }
    if (it->second.empty()) leased_.erase(it);
  }
  // A worker that left on its own (exit code 0: it owned nothing others need) gives back what
  // it leased as a return would: retired, each stays while it owns objects others hold. One
  // that died takes its tasks with it, as in Ray: nobody can ask for their results.
  const bool left = worker.exit().signal() == 0 && worker.exit().exit_code() == 0;
  for (const auto& leased : orphaned) {
    spdlog::info("owner worker {} {}; {} the worker it leased id={} job={}", worker.worker_id(),
                 left ? "left" : "died", left ? "retiring" : "stopping", leased.worker_id,
                 worker.job_id());
    if (left) {
      RetireWorker(leased.node_address, leased.worker_id);
    } else {
      KillWorker(leased.node_address, leased.worker_id);
    }
  }
}

void SchedulerService::CancelNode(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  for (const auto& [call, node] : in_flight_) {
    if (node == node_id) call->TryCancel();
  }
}

void SchedulerService::CancelAll() {
  std::vector<LeaseDone> queued;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    for (const auto& [call, node] : in_flight_) call->TryCancel();
    for (auto& [id, waiting] : waiting_) {
      queue_.Remove(id);
      queued.push_back(std::move(waiting.done));
    }
    waiting_.clear();
  }
  for (auto& done : queued) done(absl::UnavailableError("head is shutting down"));
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
