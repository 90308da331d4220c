#include "raylet/head/actor_directory.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft::head {
namespace {

// An actor's row, the same bytes for the same actor (its resources map in key order): an
// update that changes nothing is told by comparing them.
std::string RowBytes(const proto::ActorInfo& actor) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    actor.SerializeToCodedStream(&coded);
  }
  bytes.shrink_to_fit();
  return bytes;
}

proto::ActorInfo Parse(const std::string& bytes) {
  proto::ActorInfo actor;
  actor.ParseFromString(bytes);  // made by RowBytes
  return actor;
}

}  // namespace

absl::StatusOr<std::vector<proto::StoredActor>> ActorDirectory::Recover(TableStore& store) {
  auto rows = LoadMessages<proto::ActorInfo>(store, kActorsTable);
  if (!rows.ok()) return rows.status();
  auto specs = LoadMessages<proto::ActorSpec>(store, kActorSpecsTable);
  if (!specs.ok()) return specs.status();
  absl::flat_hash_map<std::string, proto::ActorSpec> by_id;
  for (auto& spec : *specs) by_id[spec.actor_id()] = std::move(spec);
  absl::MutexLock lock(&mu_);
  store_ = &store;
  std::vector<proto::StoredActor> live;
  for (auto& info : *rows) {
    const std::string id = info.actor_id();
    KeepLocked(info, RowBytes(info));
    if (info.state() == proto::ACTOR_DEAD) continue;
    auto spec = by_id.find(id);
    if (spec == by_id.end()) {
      return absl::DataLossError(absl::StrCat("actor ", id, " is stored without its spec"));
    }
    proto::StoredActor row;
    *row.mutable_info() = std::move(info);
    *row.mutable_spec() = std::move(spec->second);
    live.push_back(std::move(row));
  }
  return live;
}

// The spec is written once, with the actor's first row, and deleted with its death: the rows
// written on every change of state stay small whatever the constructor's arguments. It is not
// kept here (ActorManager keeps what it needs of it).
absl::Status ActorDirectory::SaveLocked(const proto::ActorInfo& actor, std::string row,
                                        const proto::ActorSpec* spec) {
  if (store_) {
    const std::string& id = actor.actor_id();
    std::vector<TableStore::Change> batch = {{kActorsTable, id, row}};
    if (spec) batch.push_back(RowOf(kActorSpecsTable, id, *spec));
    if (actor.state() == proto::ACTOR_DEAD) batch.push_back({kActorSpecsTable, id, std::nullopt});
    if (auto stored = Persist(store_, batch); !stored.ok()) return stored;
  }
  KeepLocked(actor, std::move(row));
  return absl::OkStatus();
}

void ActorDirectory::KeepLocked(const proto::ActorInfo& actor, std::string row) {
  actors_[actor.actor_id()] = std::move(row);
  if (actor.name().empty()) return;
  const Name name{actor.namespace_(), actor.name()};
  if (actor.state() != proto::ACTOR_DEAD) {
    live_names_.insert_or_assign(name, actor.actor_id());
  } else if (auto it = live_names_.find(name);
             it != live_names_.end() && it->second == actor.actor_id()) {
    live_names_.erase(it);
  }
}

absl::StatusOr<proto::ActorInfo> ActorDirectory::Register(proto::ActorInfo actor,
                                                          proto::ActorSpec spec) {
  if (actor.class_name().empty()) return absl::InvalidArgumentError("actor needs a class name");
  absl::MutexLock lock(&mu_);
  if (actor.actor_id().empty()) actor.set_actor_id(RandomHex(8));
  if (actors_.contains(actor.actor_id())) {
    return absl::AlreadyExistsError(absl::StrCat("actor ", actor.actor_id(), " already exists"));
  }
  if (!actor.name().empty() && live_names_.contains(Name{actor.namespace_(), actor.name()})) {
    return absl::AlreadyExistsError(absl::StrCat(
        "actor name '", actor.name(), "' is taken in namespace '", actor.namespace_(), "'"));
  }
  if (actor.state() == proto::ACTOR_STATE_UNSPECIFIED) actor.set_state(proto::ACTOR_PENDING);
  spec.set_actor_id(actor.actor_id());
  if (auto saved = SaveLocked(actor, RowBytes(actor), &spec); !saved.ok()) return saved;
  return actor;
}

absl::Status ActorDirectory::Update(const proto::ActorInfo& actor) {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor.actor_id());
  if (it == actors_.end()) {
    return absl::NotFoundError(absl::StrCat("actor ", actor.actor_id(), " not found"));
  }
  proto::ActorInfo stored = Parse(it->second);
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
  stored.set_num_restarts(actor.num_restarts());
  std::string row = RowBytes(stored);
  if (row == it->second) return absl::OkStatus();
  return SaveLocked(stored, std::move(row));
}

absl::StatusOr<proto::ActorInfo> ActorDirectory::Get(const std::string& actor_id) const {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(actor_id);
  if (it == actors_.end())
    return absl::NotFoundError(absl::StrCat("actor ", actor_id, " not found"));
  return Parse(it->second);
}

absl::StatusOr<proto::ActorInfo> ActorDirectory::GetByName(const std::string& ns,
                                                           const std::string& name) const {
  absl::MutexLock lock(&mu_);
  if (auto it = live_names_.find(Name{ns, name}); it != live_names_.end()) {
    return Parse(actors_.at(it->second));
  }
  return absl::NotFoundError(
      absl::StrCat("actor named '", name, "' not found in namespace '", ns, "'"));
}

std::vector<proto::ActorInfo> ActorDirectory::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<proto::ActorInfo> out;
  out.reserve(actors_.size());
  for (const auto& [id, actor] : actors_) out.push_back(Parse(actor));
  return out;
}

std::vector<proto::ActorInfo> ActorDirectory::ListPage(const std::string& after, size_t limit,
                                                       bool* more) const {
  absl::MutexLock lock(&mu_);
  std::vector<proto::ActorInfo> out;
  auto it = after.empty() ? actors_.begin() : actors_.upper_bound(after);
  for (; it != actors_.end() && out.size() < limit; ++it) out.push_back(Parse(it->second));
  *more = it != actors_.end();
  return out;
}

int ActorDirectory::MarkNodeDead(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  int count = 0;
  std::vector<proto::ActorInfo> dying;
  for (const auto& [id, row] : actors_) {
    if (row.find(node_id) == std::string::npos) continue;  // not there: no need to read it
    proto::ActorInfo actor = Parse(row);
    // Only a live copy dies with its node: a PENDING actor placed there is placed again.
    if (actor.node_id() != node_id || actor.state() != proto::ACTOR_ALIVE) continue;
    dying.push_back(std::move(actor));
  }
  for (auto& actor : dying) {
    actor.set_state(proto::ACTOR_DEAD);
    actor.set_death_reason(absl::StrCat("node ", node_id, " died"));
    // Dead either way (its node is); a restarted head reads the node's death again.
    std::string row = RowBytes(actor);
    if (auto saved = SaveLocked(actor, row); !saved.ok()) KeepLocked(actor, std::move(row));
    ++count;
  }
  return count;
}

}  // namespace weft::head
