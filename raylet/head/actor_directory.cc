#include "raylet/head/actor_directory.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft::head {

absl::StatusOr<std::vector<proto::StoredActor>> ActorDirectory::Recover(TableStore& store) {
  auto rows = LoadMessages<proto::ActorInfo>(store, kActorsTable);
  if (!rows.ok()) return rows.status();
  auto specs = LoadMessages<proto::ActorSpec>(store, kActorSpecsTable);
  if (!specs.ok()) return specs.status();
  absl::MutexLock lock(&mu_);
  store_ = &store;
  for (auto& spec : *specs) specs_[spec.actor_id()] = std::move(spec);
  std::vector<proto::StoredActor> live;
  for (auto& info : *rows) {
    const std::string id = info.actor_id();
    actors_[id] = info;
    if (info.state() == proto::ACTOR_DEAD) continue;
    auto spec = specs_.find(id);
    if (spec == specs_.end()) {
      return absl::DataLossError(absl::StrCat("actor ", id, " is stored without its spec"));
    }
    proto::StoredActor row;
    *row.mutable_info() = std::move(info);
    *row.mutable_spec() = spec->second;
    live.push_back(std::move(row));
  }
  return live;
}

// The spec is written once, with the actor's first row, and deleted with its death: the rows
// written on every change of state stay small whatever the constructor's arguments.
absl::Status ActorDirectory::SaveLocked(const proto::ActorInfo& actor, bool with_spec) {
  if (store_) {
    const std::string& id = actor.actor_id();
    std::vector<TableStore::Change> batch = {RowOf(kActorsTable, id, actor)};
    if (with_spec) batch.push_back(RowOf(kActorSpecsTable, id, specs_.at(id)));
    if (actor.state() == proto::ACTOR_DEAD) batch.push_back({kActorSpecsTable, id, std::nullopt});
    if (auto stored = Persist(store_, batch); !stored.ok()) return stored;
    if (actor.state() == proto::ACTOR_DEAD) specs_.erase(id);
  }
  actors_[actor.actor_id()] = actor;
  return absl::OkStatus();
}

absl::StatusOr<proto::ActorInfo> ActorDirectory::Register(proto::ActorInfo actor,
                                                          proto::ActorSpec spec) {
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
  if (store_) {
    spec.set_actor_id(actor.actor_id());
    specs_[actor.actor_id()] = std::move(spec);
  }
  if (auto saved = SaveLocked(actor, /*with_spec=*/store_ != nullptr); !saved.ok()) {
    specs_.erase(actor.actor_id());
    return saved;
  }
  return actor;
}

absl::Status ActorDirectory::Update(const proto::ActorInfo& actor) {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor.actor_id());
  if (it == actors_.end()) {
    return absl::NotFoundError(absl::StrCat("actor ", actor.actor_id(), " not found"));
  }
  if (it->second.state() == proto::ACTOR_DEAD) {  // DEAD is final: its name may be taken again
    return absl::FailedPreconditionError(
        absl::StrCat("actor ", actor.actor_id(), " is dead: ", it->second.death_reason()));
  }
  proto::ActorInfo stored = it->second;
  stored.set_state(actor.state());
  stored.set_node_id(actor.node_id());
  stored.set_worker_id(actor.worker_id());
  stored.set_address(actor.address());
  stored.set_pid(actor.pid());
  stored.set_death_reason(actor.death_reason());
  stored.set_pending_reason(actor.pending_reason());
  stored.set_executor(actor.executor());
  stored.set_max_concurrency(actor.max_concurrency());
  stored.set_num_restarts(actor.num_restarts());
  if (stored.SerializeAsString() == it->second.SerializeAsString()) return absl::OkStatus();
  return SaveLocked(stored);
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

std::vector<proto::ActorInfo> ActorDirectory::ListPage(const std::string& after, size_t limit,
                                                       bool* more) const {
  absl::MutexLock lock(&mu_);
  std::vector<proto::ActorInfo> out;
  auto it = after.empty() ? actors_.begin() : actors_.upper_bound(after);
  for (; it != actors_.end() && out.size() < limit; ++it) out.push_back(it->second);
  *more = it != actors_.end();
  return out;
}

int ActorDirectory::MarkNodeDead(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  int count = 0;
  std::vector<proto::ActorInfo> dying;
  for (const auto& [id, actor] : actors_) {
    // Only a live copy dies with its node: a PENDING actor placed there is placed again.
    if (actor.node_id() != node_id || actor.state() != proto::ACTOR_ALIVE) continue;
    dying.push_back(actor);
  }
  for (auto& actor : dying) {
    actor.set_state(proto::ACTOR_DEAD);
    actor.set_death_reason(absl::StrCat("node ", node_id, " died"));
    // Dead either way (its node is); a restarted head reads the node's death again.
    if (auto saved = SaveLocked(actor); !saved.ok()) actors_[actor.actor_id()] = actor;
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
