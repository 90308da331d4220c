#include "raylet/head/actor_manager.h"

#include "absl/strings/str_cat.h"
#include "common/actor_spec.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::head {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status JobEndedError(const std::string& job_id) {
  return absl::FailedPreconditionError(
      absl::StrCat("job ", job_id,
                   " has ended: an actor that is not detached would outlive it (a detached "
                   "actor may)"));
}

}  // namespace

absl::StatusOr<proto::ActorInfo> ActorManager::Create(const proto::CreateActorRequest& request) {
  const auto& spec = request.spec();
  if (absl::Status invalid = CheckActorSpec(spec); !invalid.ok()) return invalid;
  absl::StatusOr<proto::ActorInfo> registered;
  {
    // One creation at a time from the look-ups on: a request sent again while the first is
    // still here must find the actor, not race it to the id.
    absl::MutexLock creating(&create_mu_);
    if (!spec.actor_id().empty()) {
      // Chosen by the caller so that a request sent again (its answer lost with a head that
      // restarted) finds the actor the first one created.
      auto existing = actors_.Get(spec.actor_id());
      if (existing.ok() && existing->job_id() == spec.job_id()) return existing;
      if (existing.ok()) {
        return absl::AlreadyExistsError(absl::StrCat("actor id ", spec.actor_id(), " is taken"));
      }
    }
    if (request.get_if_exists() && !spec.name().empty()) {
      auto existing = actors_.GetByName(spec.namespace_(), spec.name());
      if (existing.ok()) return existing;
    }
    if (!spec.detached() && job_ended_(spec.job_id())) return JobEndedError(spec.job_id());
    proto::ActorInfo info;
    info.set_actor_id(spec.actor_id());
    info.set_name(spec.name());
    info.set_namespace_(spec.namespace_());
    info.set_class_name(spec.class_name());
    info.set_job_id(spec.job_id());
    info.set_state(proto::ACTOR_PENDING);
    info.set_detached(spec.detached());
    info.set_max_restarts(spec.max_restarts());
    info.set_max_task_retries(spec.max_task_retries());
    *info.mutable_resources() = spec.resources();
    info.set_created_unix_ms(NowUnixMs());
    info.set_pending_reason("being placed");
    registered = actors_.Register(std::move(info), spec);
    if (!registered.ok()) return registered.status();
    proto::ActorSpec stored = spec;
    stored.set_actor_id(registered->actor_id());
    absl::MutexLock lock(&mu_);
    specs_[registered->actor_id()] = SpecBytes(stored);
  }
  // The job ended meanwhile, its actors ended before this one was among them: it ends too.
  // (The registry marks a job ended before OnJobFinished looks for its actors.)
  if (!spec.detached() && job_ended_(spec.job_id())) {
    MarkDead(registered->actor_id(), "its job finished");
    return JobEndedError(spec.job_id());
  }
  spdlog::info("actor registered id={} class={} job={}", registered->actor_id(), spec.class_name(),
               spec.job_id());
  Schedule(registered->actor_id());
  return actors_.Get(registered->actor_id());
}

void ActorManager::Recover(const std::vector<proto::StoredActor>& live) {
  std::vector<std::string> lost;
  std::vector<std::pair<std::string, Placement>> constructing;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& row : live) {
      const proto::ActorInfo& info = row.info();
      const std::string& id = info.actor_id();
      specs_[id] = SpecBytes(row.spec());
      const bool alive = info.state() == proto::ACTOR_ALIVE;
      const auto node = info.node_id().empty() ? std::nullopt : nodes_.Get(info.node_id());
      const bool node_alive = node && node->state() == proto::NODE_ALIVE;
      if (!alive && !node_alive) {
        // Placed again at the next Tick. A placement stored on a node now dead is no longer
        // where it is (nor a reason to count it lost with that node).
        if (!info.node_id().empty()) {
          proto::ActorInfo unplaced = info;
          unplaced.clear_node_id();
          unplaced.clear_worker_id();
          unplaced.clear_address();
          (void)actors_.Update(unplaced);
        }
        unplaced_.push_back(id);
        continue;
      }
      if (!node_alive) {
        lost.push_back(id);
        continue;
      }
      Placement placement{info.worker_id(), info.address(),          info.node_id(),
                          node->address(),  OwnsProcess(row.spec()), ++attempts_};
      placements_[id] = placement;
      // Its constructor was running: asked again, its worker answers when it returns (it
      // never constructs an actor twice).
      if (!alive) constructing.emplace_back(id, placement);
      // Its worker was leased for its job: it ends with the job (unless detached, see
      // OnJobFinished), as under the head that leased it.
      scheduler_.Adopt(row.spec().job_id(), node->address(), info.worker_id());
      if (placement.dedicated) continue;
      const SharedKey key{row.spec().job_id(), info.node_id()};
      SharedWorker& shared = shared_[key];
      if (shared.placement.worker_id() == placement.worker_id()) {
        placements_[id].worker = shared.placement.worker;  // one copy of the worker's names
      }
      shared.placement = placements_[id];
      ++shared.hosted;
      shared_of_[id] = shared.Key(key);
    }
  }
  for (const auto& id : lost) {
    auto info = actors_.Get(id);
    OnActorLost(id, absl::StrCat("node ", info.ok() ? info->node_id() : "?", " died"));
  }
  for (const auto& [id, placement] : constructing) Construct(id, placement);
}

void ActorManager::MarkDead(const std::string& actor_id, const std::string& reason) {
  auto info = actors_.Get(actor_id);
  if (!info.ok() || info->state() == proto::ACTOR_DEAD) return;
  info->set_state(proto::ACTOR_DEAD);
  info->set_death_reason(reason);
  if (actors_.Update(*info).ok()) {
    spdlog::info("actor dead id={} class={}: {}", actor_id, info->class_name(), reason);
  }
  {
    absl::MutexLock lock(&mu_);
    specs_.erase(actor_id);
    placements_.erase(actor_id);
    UnassignLocked(actor_id);
  }
  WithdrawLease(actor_id);
  waits_.Notify(actor_id);
}

absl::StatusOr<proto::ActorInfo> ActorManager::Kill(const std::string& actor_id,
                                                    const std::string& reason, bool restart) {
  auto info = actors_.Get(actor_id);
  if (!info.ok()) return info.status();
  if (info->state() == proto::ACTOR_DEAD) return info;
  const std::string why = reason.empty() ? (restart ? "killed to restart" : "killed") : reason;
  WithdrawLease(actor_id);  // a restart asks afresh; a dead actor asks no more
  std::optional<Placement> placement;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = placements_.find(actor_id); it != placements_.end()) placement = it->second;
    placements_.erase(actor_id);  // its worker's exit is not a second loss
  }
  // RESTARTING (or DEAD) before Kill answers, so that no call goes to the old copy after it;
  // a restart is placed once the old copy is gone from a shared worker (it may land there).
  if (!restart) {
    MarkDead(actor_id, why);
  } else {
    restart = BeginRestart(actor_id, why);
  }
  auto restart_now = [this, actor_id, restart] {
    if (restart) Schedule(actor_id);
  };
  if (!placement) {
    restart_now();
  } else if (placement->dedicated) {
    StopWorker(*placement);
    restart_now();
  } else {
    proto::DestroyActorRequest destroy;
    destroy.set_actor_id(actor_id);
    destroy.set_reason(why);
    CallAsync<proto::DestroyActorReply>(
        ContextWithTimeout(kControlRpcTimeout), std::move(destroy),
        [this, &placement](auto... args) {
          workers_.Get(placement->address()).async()->DestroyActor(args...);
        },
        [actor_id, restart_now](const absl::Status& status, const auto&) {
          if (!status.ok())
            spdlog::warn("worker did not destroy actor id={}: {}", actor_id, status.message());
          restart_now();
        });
  }
  return actors_.Get(actor_id);
}

proto::ActorSpec ActorManager::SpecOf(const std::string& bytes) {
  proto::ActorSpec spec;
  spec.ParseFromString(bytes);  // made by SpecBytes
  return spec;
}

std::string ActorManager::SpecBytes(const proto::ActorSpec& spec) {
  std::string bytes = spec.SerializeAsString();
  bytes.shrink_to_fit();
  return bytes;
}

void ActorManager::StopWorker(const Placement& placement) {
  scheduler_.KillWorker(placement.node_address(), placement.worker_id());
}

void ActorManager::OnWorkerExit(const proto::WorkerInfo& worker) {
  std::vector<std::string> lost;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [actor_id, placement] : placements_) {
      if (placement.worker_id() == worker.worker_id()) lost.push_back(actor_id);
    }
    for (auto& [job, shared] : shared_) {
      if (shared.placement.worker_id() == worker.worker_id()) shared.placement = Placement();
    }
  }
  const std::string how = worker.exit().signal()
                              ? absl::StrCat("signal ", worker.exit().signal())
                              : absl::StrCat("exit code ", worker.exit().exit_code());
  for (const auto& actor_id : lost) {
    OnActorLost(actor_id, absl::StrCat("its worker process (pid ", worker.pid(), ") died: ", how));
  }
}

void ActorManager::OnNodeDead(const std::string& node_id) {
  std::vector<std::string> lost;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [actor_id, placement] : placements_) {
      if (placement.node_id() == node_id) lost.push_back(actor_id);
    }
    for (auto& [key, shared] : shared_) {
      if (shared.placement.node_id() == node_id) shared.placement = Placement();
    }
  }
  for (const auto& actor_id : lost) OnActorLost(actor_id, absl::StrCat("node ", node_id, " died"));
}

void ActorManager::OnActorLost(const std::string& actor_id, const std::string& reason) {
  if (BeginRestart(actor_id, reason)) Schedule(actor_id);
}

bool ActorManager::BeginRestart(const std::string& actor_id, const std::string& reason) {
  auto info = actors_.Get(actor_id);
  if (!info.ok() || info->state() == proto::ACTOR_DEAD) return false;
  bool restart = false;
  {
    absl::MutexLock lock(&mu_);
    placements_.erase(actor_id);
    if (specs_.contains(actor_id)) {  // live here; its row says how often it may restart
      const int max = info->max_restarts();
      restart = max < 0 || info->num_restarts() < max;
    }
  }
  if (!restart) {
    MarkDead(actor_id,
             info->num_restarts() > 0
                 ? absl::StrCat(reason, " (after ", info->num_restarts(), " restarts, none left)")
                 : reason);
    return false;
  }
  info->set_state(proto::ACTOR_RESTARTING);
  info->set_num_restarts(info->num_restarts() + 1);
  info->clear_node_id();
  info->clear_worker_id();
  info->clear_address();
  info->clear_pid();
  info->set_pending_reason(absl::StrCat("restarting: ", reason));
  if (actors_.Update(*info).ok()) {
    spdlog::warn("actor restarting id={} class={} restart={}: {}", actor_id, info->class_name(),
                 info->num_restarts(), reason);
  }
  waits_.Notify(actor_id);
  return true;
}

void ActorManager::OnJobFinished(const std::string& job_id, const std::string& reason) {
  std::vector<std::string> ending;
  absl::flat_hash_set<std::string> keep;  // workers that host the job's detached actors
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [actor_id, bytes] : specs_) {
      if (bytes.find(job_id) == std::string::npos) continue;  // not the job's: no need to read it
      const proto::ActorSpec spec = SpecOf(bytes);
      if (spec.job_id() != job_id) continue;
      if (!spec.detached()) {
        ending.push_back(actor_id);
      } else if (auto it = placements_.find(actor_id); it != placements_.end()) {
        keep.insert(it->second.worker_id());
      }
    }
    for (auto it = shared_.begin(); it != shared_.end();) {
      const bool ends =
          it->first.first == job_id && !keep.contains(it->second.placement.worker_id());
      if (ends) {
        shared_.erase(it++);
      } else {
        ++it;
      }
    }
    spread_.erase(job_id);  // counts went down: a later pick starts from a floor of 0
  }
  for (const auto& actor_id : ending) MarkDead(actor_id, reason);
  // Task workers and the workers of the actors that just died end with the job.
  scheduler_.ReleaseJob(job_id, keep);
}

void ActorManager::Tick() {
  waits_.ExpireDue();
  std::vector<std::string> retry;
  std::vector<std::pair<std::string, Placement>> reconstruct;
  {
    absl::MutexLock lock(&mu_);
    retry.swap(unplaced_);
    reconstruct.swap(reconstruct_);
  }
  for (const auto& actor_id : retry) Schedule(actor_id);
  for (const auto& [actor_id, placement] : reconstruct) Construct(actor_id, placement);
}

}  // namespace weft::head
