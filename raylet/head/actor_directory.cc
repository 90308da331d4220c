#include "raylet/head/actor_directory.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft::head {

absl::StatusOr<proto::ActorInfo> ActorDirectory::Register(proto::ActorInfo actor) {
  if (actor.class_name().empty()) return absl::InvalidArgumentError("actor needs a class name");
  absl::MutexLock lock(&mu_);
  if (actor.actor_id().empty()) actor.set_actor_id(RandomHex(8));
  if (actors_.contains(actor.actor_id())) {
    return absl::AlreadyExistsError(absl::StrCat("actor ", actor.actor_id(), " already exists"));
  }
  if (!actor.name().empty() && FindLiveByNameLocked(actor.namespace_(), actor.name())) {
    return absl::AlreadyExistsError(absl::StrCat(
        "actor name '", actor.name(), "' is taken in namespace '", actor.namespace_(), "'"));
  }
  if (actor.state() == proto::ACTOR_STATE_UNSPECIFIED) actor.set_state(proto::ACTOR_PENDING);
  actors_[actor.actor_id()] = actor;
  return actor;
}

absl::Status ActorDirectory::Update(const proto::ActorInfo& actor) {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor.actor_id());
  if (it == actors_.end()) {
    return absl::NotFoundError(absl::StrCat("actor ", actor.actor_id(), " not found"));
  }
  proto::ActorInfo& stored = it->second;
  if (stored.state() == proto::ACTOR_DEAD) {  // DEAD is final: its name may be taken again
    return absl::FailedPreconditionError(
        absl::StrCat("actor ", actor.actor_id(), " is dead: ", stored.death_reason()));
  }
  stored.set_state(actor.state());
  stored.set_node_id(actor.node_id());
  stored.set_worker_id(actor.worker_id());
  stored.set_address(actor.address());
  stored.set_pid(actor.pid());
  stored.set_death_reason(actor.death_reason());
  stored.set_pending_reason(actor.pending_reason());
  stored.set_executor(actor.executor());
  stored.set_max_concurrency(actor.max_concurrency());
  return absl::OkStatus();
}

absl::StatusOr<proto::ActorInfo> ActorDirectory::Get(const std::string& actor_id) const {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor_id);
  if (it == actors_.end())
    return absl::NotFoundError(absl::StrCat("actor ", actor_id, " not found"));
  return it->second;
}

absl::StatusOr<proto::ActorInfo> ActorDirectory::GetByName(const std::string& ns,
                                                           const std::string& name) const {
  absl::MutexLock lock(&mu_);
  if (const auto* actor = FindLiveByNameLocked(ns, name)) return *actor;
  return absl::NotFoundError(
      absl::StrCat("actor named '", name, "' not found in namespace '", ns, "'"));
}

std::vector<proto::ActorInfo> ActorDirectory::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<proto::ActorInfo> out;
  for (const auto& [id, actor] : actors_) out.push_back(actor);
  return out;
}

int ActorDirectory::MarkNodeDead(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (auto& [id, actor] : actors_) {
    if (actor.node_id() != node_id || actor.state() == proto::ACTOR_DEAD) continue;
    actor.set_state(proto::ACTOR_DEAD);
    actor.set_death_reason(absl::StrCat("node ", node_id, " died"));
    ++count;
  }
  return count;
}

const proto::ActorInfo* ActorDirectory::FindLiveByNameLocked(const std::string& ns,
                                                             const std::string& name) const {
  for (const auto& [id, actor] : actors_) {
    if (actor.name() == name && actor.namespace_() == ns && actor.state() != proto::ACTOR_DEAD) {
      return &actor;
    }
  }
  return nullptr;
}

}  // namespace weft::head
