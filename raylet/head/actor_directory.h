#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "head.pb.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {

// Where every actor lives, by id and by (namespace, name). Names are unique among actors
// that are not DEAD; a dead actor's name can be taken again. Thread-safe.
//
// An actor is kept as its serialized row (about 150 bytes for a live one), not as an ActorInfo
// message (over 900 bytes with its strings): a head holds a hundred thousand of them, and reads
// one at a time.
class ActorDirectory {
 public:
  // Loads the actors kept in `store` (a restarted head) and writes every later change there
  // before it is acknowledged. Call once, before serving. Returns the actors not DEAD, with
  // the specs they were created from.
  [[nodiscard]] absl::StatusOr<std::vector<proto::StoredActor>> Recover(TableStore& store);

  // Adds an actor created from `spec`, assigning an id when it has none. INVALID_ARGUMENT
  // without class name, ALREADY_EXISTS for a taken id or a live actor's name, UNAVAILABLE when
  // it cannot be stored.
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> Register(proto::ActorInfo actor,
                                                          proto::ActorSpec spec = {});

  // Replaces state, placement, pending/death reason and executor fields of a known actor.
  // NOT_FOUND for an unknown id, FAILED_PRECONDITION for a DEAD actor (death is final),
  // UNAVAILABLE when the change cannot be stored.
  [[nodiscard]] absl::Status Update(const proto::ActorInfo& actor);

  // NOT_FOUND when no actor has that id / no live actor has that name.
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> Get(const std::string& actor_id) const;
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> GetByName(const std::string& ns,
                                                           const std::string& name) const;
  std::vector<proto::ActorInfo> List() const;
  // At most `limit` actors whose ids come after `after` (empty: from the first), in id order;
  // `more`: whether any comes after them.
  std::vector<proto::ActorInfo> ListPage(const std::string& after, size_t limit, bool* more) const;

  // Marks DEAD every ALIVE actor placed on `node_id`; returns how many.
  int MarkNodeDead(const std::string& node_id);

 private:
  using Name = std::pair<std::string, std::string>;  // namespace, name

  // Stores the actor's `row` (RowBytes of `actor`; with `spec`'s row when given; the spec's row
  // goes when it is DEAD), then keeps it.
  [[nodiscard]] absl::Status SaveLocked(const proto::ActorInfo& actor, std::string row,
                                        const proto::ActorSpec* spec = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes the kept row of `actor` `row` (and its name live or not), stored or not.
  void KeepLocked(const proto::ActorInfo& actor, std::string row)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Serialized ActorInfo rows in id order: listed a page at a time.
  absl::btree_map<std::string, std::string> actors_ ABSL_GUARDED_BY(mu_);
  // The ids of the named actors not DEAD.
  absl::flat_hash_map<Name, std::string> live_names_ ABSL_GUARDED_BY(mu_);
  TableStore* store_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace weft::head
