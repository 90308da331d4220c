// ActorManager placing its actors (raylet/head/actor_manager.h): a lease of a worker of their
// own for actors that want one, a share of the job's worker on a node for the others, then the
// constructor call and the actor ALIVE (or PENDING with the reason, or DEAD).

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "raylet/head/actor_manager.h"
#include "raylet/head/placement.h"

namespace weft::head {
namespace {

// What the envelope of a construction may add to its request (the watch's id and framing).
constexpr size_t kConstructionEnvelopeBytes = 64;

}  // namespace

bool ActorManager::OwnsProcess(const proto::ActorSpec& spec) {
  return spec.dedicated_process() || !spec.resources().empty();
}

void ActorManager::Schedule(const std::string& actor_id) {
  proto::ActorSpec spec;
  {
    absl::MutexLock lock(&mu_);
    auto it = specs_.find(actor_id);
    if (it == specs_.end()) return;
    spec = SpecOf(it->second);
  }
  if (!OwnsProcess(spec)) return ScheduleShared(actor_id, spec.job_id());
  SchedulerService::LeaseOptions options;
  options.on_queued = [this, actor_id](const std::string& reason) {
    SetPendingReason(actor_id, reason);
  };
  auto queue_id = std::make_shared<std::atomic<uint64_t>>(0);
  options.on_enqueued = [queue_id](uint64_t id) { queue_id->store(id); };
  {
    absl::MutexLock lock(&mu_);
    queued_[actor_id] = queue_id;
  }
  scheduler_.Lease(
      spec.job_id(), spec.resources(),
      [this, actor_id, queue_id](auto leased) {
        {
          absl::MutexLock lock(&mu_);
          auto it = queued_.find(actor_id);
          if (it != queued_.end() && it->second == queue_id) queued_.erase(it);  // not a newer one
        }
        OnLeased(actor_id, std::move(leased));
      },
      std::move(options));
}

void ActorManager::WithdrawLease(const std::string& actor_id) {
  std::shared_ptr<std::atomic<uint64_t>> queue_id;
  {
    absl::MutexLock lock(&mu_);
    auto it = queued_.find(actor_id);
    if (it == queued_.end()) return;
    queue_id = std::move(it->second);
    queued_.erase(it);
  }
  scheduler_.CancelQueued(queue_id->load());  // its callback sees CANCELLED and does nothing
}

void ActorManager::ScheduleShared(const std::string& actor_id, const std::string& job_id) {
  const NodeDirectory::NodeIds alive = nodes_.AliveIds();
  Placement placement;
  SharedKey key;
  bool lease = false;
  {
    absl::MutexLock lock(&mu_);
    UnassignLocked(actor_id);  // a retry is placed afresh
    SharedKey probe{job_id, ""};
    key = {job_id, spread_[job_id].Pick(alive, [&](const std::string& node_id) {
             probe.second = node_id;
             auto it = shared_.find(probe);
             return it == shared_.end() ? 0 : it->second.hosted;
           })};
    if (!key.second.empty()) {
      auto& shared = shared_[key];
      ++shared.hosted;
      shared_of_[actor_id] = shared.Key(key);
      if (!shared.placement.worker_id().empty()) {
        placement = shared.placement;
      } else {
        shared.waiting.push_back(actor_id);
        lease = !shared.leasing;
        shared.leasing = true;
      }
    }
  }
  if (key.second.empty()) return MarkPending(actor_id, "no alive node");
  if (!placement.worker_id().empty()) return Place(actor_id, placement);
  if (!lease) return;
  SchedulerService::LeaseOptions options;
  options.node_id = key.second;
  scheduler_.Lease(
      job_id, {}, [this, key](auto leased) { OnSharedLeased(key, std::move(leased)); },
      std::move(options));
}

void ActorManager::UnassignLocked(const std::string& actor_id) {
  auto it = shared_of_.find(actor_id);
  if (it == shared_of_.end()) return;
  if (auto shared = shared_.find(*it->second); shared != shared_.end()) {
    --shared->second.hosted;
    if (auto spread = spread_.find(it->second->first); spread != spread_.end()) {
      spread->second.Lowered(shared->second.hosted);
    }
  }
  shared_of_.erase(it);
}

void ActorManager::OnLeased(const std::string& actor_id,
                            absl::StatusOr<proto::LeaseWorkerReply> leased) {
  if (leased.status().code() == absl::StatusCode::kCancelled) return;  // withdrawn (killed)
  if (!leased.ok()) return MarkPending(actor_id, std::string(leased.status().message()));
  if (!leased->has_worker()) return MarkPending(actor_id, leased->queued_reason());
  Placement placement{leased->worker().worker_id(), leased->worker().address(),
                      leased->worker().node_id(), leased->node_address(), true};
  Place(actor_id, placement);
}

void ActorManager::OnSharedLeased(const SharedKey& key,
                                  absl::StatusOr<proto::LeaseWorkerReply> leased) {
  if (leased.ok() && !leased->has_worker()) {
    leased = absl::UnavailableError(leased->queued_reason());
  }
  std::vector<std::string> waiting;
  Placement placement;
  {
    absl::MutexLock lock(&mu_);
    auto& shared = shared_[key];
    shared.leasing = false;
    waiting.swap(shared.waiting);
    if (leased.ok()) {
      placement = Placement{leased->worker().worker_id(), leased->worker().address(),
                            leased->worker().node_id(), leased->node_address(), false};
      shared.placement = placement;
    } else {
      for (const auto& actor_id : waiting) UnassignLocked(actor_id);
    }
  }
  for (const auto& actor_id : waiting) {
    if (leased.ok()) {
      Place(actor_id, placement);
    } else {
      MarkPending(actor_id, std::string(leased.status().message()));
    }
  }
}

void ActorManager::Place(const std::string& actor_id, Placement placement) {
  absl::Status unstored;
  {
    absl::ReleasableMutexLock lock(&mu_);
    auto info = actors_.Get(actor_id);
    if (specs_.contains(actor_id) && info.ok() && info->state() != proto::ACTOR_DEAD) {
      placement.attempt = ++attempts_;
      placements_[actor_id] = placement;
      // Stored before the constructor runs: a head that dies meanwhile is followed by one that
      // asks the same worker again instead of constructing the actor a second time elsewhere.
      info->set_node_id(placement.node_id());
      info->set_worker_id(placement.worker_id());
      info->set_address(placement.address());
      info->set_pending_reason(absl::StrCat("its constructor runs on node ", placement.node_id()));
      unstored = actors_.Update(*info);
      if (unstored.ok()) {
        lock.Release();
        return Construct(actor_id, placement);
      }
      placements_.erase(actor_id);
    }
    UnassignLocked(actor_id);  // killed meanwhile, or not stored
  }
  if (placement.dedicated) StopWorker(placement);
  if (!unstored.ok()) MarkPending(actor_id, std::string(unstored.message()));
}

ActorManager::~ActorManager() {
  stopping_ = true;
  construction_timers_.Stop();
  construction_calls_.CancelAllAndWait();
}

void ActorManager::Construct(const std::string& actor_id, const Placement& placement) {
  proto::ConstructActorRequest request;
  {
    absl::MutexLock lock(&mu_);
    auto spec = specs_.find(actor_id);
    auto current = placements_.find(actor_id);
    if (spec == specs_.end() || current == placements_.end() ||
        current->second.attempt != placement.attempt) {
      return;  // killed, restarted or moved meanwhile
    }
    request.mutable_spec()->ParseFromString(spec->second);
    auto info = actors_.Get(actor_id);
    request.set_incarnation(info.ok() ? info->num_restarts() : 0);
  }
  // Its drivers check a spec against the limit with room to spare: one over it would end the
  // stream of every construction on that worker, so it fails alone.
  if (request.ByteSizeLong() + kConstructionEnvelopeBytes >
      static_cast<size_t>(MaxMessageBytes())) {
    return OnConstructed(
        actor_id, placement,
        absl::ResourceExhaustedError(absl::StrCat("its spec is ", request.ByteSizeLong(),
                                                  " bytes, over the message limit")));
  }
  // No deadline, as in Ray: a constructor takes what it takes (loading a model, say); a worker
  // that dies or is cut off ends the stream, and the construction is asked again or its actor
  // restarted. False only when the head is stopping: the actor stays placed as stored.
  (void)constructions_.Watch(
      placement.address(), std::move(request), std::nullopt,
      [this, actor_id, placement](absl::StatusOr<proto::ConstructActorReply> answer) {
        OnConstructed(actor_id, placement, std::move(answer));
      });
}

void ActorManager::OnConstructed(const std::string& actor_id, const Placement& placement,
                                 absl::StatusOr<proto::ConstructActorReply> answer) {
  if (stopping_) return;  // cancelled by this head as it stops
  absl::ReleasableMutexLock lock(&mu_);
  // Restarted, killed or moved while it was being constructed: the answer is about a copy that
  // is no longer the actor (a restart placed elsewhere must not be undone).
  auto current = placements_.find(actor_id);
  if (current == placements_.end() || current->second.attempt != placement.attempt) return;
  if (answer.status().code() == absl::StatusCode::kUnavailable ||
      IsStreamFailure(answer.status())) {
    // Not an answer: the worker could not be reached, or the stream to it ended. Asked again at
    // the next Tick while this is still the actor's placement; a worker or node that died ends
    // it (its exit report or the node's death restart the actor or end it).
    reconstruct_.emplace_back(actor_id, placement);
    return;
  }
  if (!answer.ok()) {
    lock.Release();
    if (placement.dedicated) StopWorker(placement);
    return MarkDead(actor_id, absl::StrCat("creation failed: ", answer.status().message()));
  }
  const proto::ConstructActorReply& reply = *answer;
  auto info = actors_.Get(actor_id);
  if (!info.ok() || info->state() == proto::ACTOR_DEAD) return;
  info->set_state(proto::ACTOR_ALIVE);
  info->set_node_id(placement.node_id());
  info->set_worker_id(placement.worker_id());
  info->set_address(placement.address());
  info->set_pid(reply.pid());
  info->set_executor(reply.executor());
  info->set_max_concurrency(reply.max_concurrency());
  info->clear_pending_reason();
  if (actors_.Update(*info).ok()) {
    spdlog::info("actor alive id={} class={} node={} worker={} executor={}", actor_id,
                 info->class_name(), placement.node_id(), placement.worker_id(), reply.executor());
  }
  lock.Release();
  waits_.Notify(actor_id);
}

void ActorManager::MarkPending(const std::string& actor_id, const std::string& reason) {
  SetPendingReason(actor_id, reason);
  absl::MutexLock lock(&mu_);
  if (specs_.contains(actor_id)) unplaced_.push_back(actor_id);
}

void ActorManager::SetPendingReason(const std::string& actor_id, const std::string& reason) {
  auto info = actors_.Get(actor_id);
  if (!info.ok() || info->state() == proto::ACTOR_DEAD) return;
  const bool changed = info->pending_reason() != reason;
  info->set_pending_reason(reason);
  if (actors_.Update(*info).ok() && changed) {
    spdlog::warn("actor pending id={} class={}: {}", actor_id, info->class_name(), reason);
  }
  if (changed) waits_.Notify(actor_id, /*any_change=*/true);  // waiters learn the new reason
}

}  // namespace weft::head
