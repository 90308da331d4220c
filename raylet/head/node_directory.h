#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common.pb.h"
#include "common/resources.h"
#include "head.pb.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {

// Cluster membership: which nodes exist, what they offer, whether they are alive.
// A node is ALIVE from registration until it unregisters or misses heartbeats for longer
// than `node_timeout`; then it is DEAD for good (a restarted raylet registers a new id).
//
// Resources handed out by the scheduler are held here as reservations, subtracted from what
// the node last reported, until a heartbeat shows the node counting them itself.
// Thread-safe.
// steady_clock as an absl::Time: never jumps with the wall clock.
absl::Time MonotonicNow();

class NodeDirectory {
 public:
  struct Options {
    absl::Duration heartbeat_period = absl::Milliseconds(500);
    absl::Duration node_timeout = absl::Seconds(3);
    // Two liveness checks further apart than this mean the head itself was stalled
    // (suspended, starved): the stall is added to every node's allowance.
    absl::Duration stall_threshold = absl::InfiniteDuration();
    // How long nodes keep their workers while no head runs; a restarted head waits as long
    // for each node it knew (see Recover).
    absl::Duration head_lost_timeout = absl::Seconds(60);
    // DEAD nodes kept (listed, and known to a node that comes back); beyond it the earliest
    // dead go, as Ray keeps its last 1,000 dead nodes.
    size_t max_dead_nodes = 1000;
  };
  using Clock = std::function<absl::Time()>;
  // Runs for each DEAD node dropped beyond max_dead_nodes, however it is dropped (in Recover
  // too), outside the directory's lock: what else is kept about the node goes with it.
  using Forget = std::function<void(const std::string& node_id)>;

  // `clock` times liveness; it must not jump (the default is monotonic). The unix times shown
  // in NodeInfo come from the wall clock.
  explicit NodeDirectory(Options options, Clock clock = &MonotonicNow, Forget on_forget = nullptr);

  const Options& options() const { return options_; }

  // Loads the nodes kept in `store` (a restarted head) and writes every later membership
  // change there (registrations, deaths) before it is acknowledged. Call once, before
  // serving. A node that was ALIVE is ALIVE again, offering nothing until its first
  // heartbeat, and is declared dead only if it stays silent for `grace` plus node_timeout
  // (the head passes head_lost_timeout: a node cut off from every head keeps its workers no
  // longer than that, so none is declared dead while it may still serve).
  // The old head's own node is DEAD at once (its workers ended with that raylet): its id is
  // returned, for what lived there to be restarted or ended.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> Recover(TableStore& store,
                                                                 absl::Duration grace);

  // Adds an ALIVE node. INVALID_ARGUMENT without id or address or with bad resources,
  // ALREADY_EXISTS for a known id, UNAVAILABLE when it cannot be stored.
  [[nodiscard]] absl::Status Register(proto::NodeInfo node);

  // Records a heartbeat. NOT_FOUND for an unknown id; FAILED_PRECONDITION once the node is
  // DEAD (the raylet must stop: its workers are already considered lost). True for the first
  // heartbeat of a node taken over from a dead head (Recover): its workers are to be adopted.
  [[nodiscard]] absl::StatusOr<bool> Heartbeat(const proto::HeartbeatRequest& heartbeat);

  // The workers of a node taken over could not be adopted: its next heartbeat says it is back
  // again.
  void AdoptLater(const std::string& node_id);

  // Marks a node DEAD because it said goodbye. NOT_FOUND for an unknown id.
  [[nodiscard]] absl::Status Unregister(const std::string& node_id, const std::string& reason);

  // Marks DEAD every ALIVE node silent for longer than node_timeout; returns their ids.
  std::vector<std::string> MarkSilentNodesDead();

  // Picks a node for `required` (see placement.h) and holds the resources there. With
  // `node_id`, only that node is considered (UNAVAILABLE when it is not alive).
  struct Reservation {
    proto::NodeInfo node;
    uint64_t id = 0;
  };
  [[nodiscard]] absl::StatusOr<Reservation> Reserve(const ResourceMap& required,
                                                    const std::string& node_id = "");

  // The reserved worker started; the hold ends with the first heartbeat whose
  // resource_version is at least `version`.
  void SettleAfter(const Reservation& reservation, uint64_t version);

  // The reserved worker did not start: the hold ends now.
  void Release(const Reservation& reservation);

  // Nodes with reservations subtracted from `available`.
  std::optional<proto::NodeInfo> Get(const std::string& node_id) const;
  std::vector<proto::NodeInfo> List() const;  // all nodes, oldest first
  std::vector<proto::NodeInfo> ListAlive() const;
  // The ids of the ALIVE nodes, oldest first: a snapshot shared until membership changes (a
  // node registers or dies), so that asking costs nothing however many nodes there are.
  using NodeIds = std::shared_ptr<const std::vector<std::string>>;
  NodeIds AliveIds() const;

 private:
  struct Hold {
    uint64_t id;
    ResourceMap amounts;
    uint64_t settle_version;  // UINT64_MAX until the worker has started
  };
  struct Entry {
    proto::NodeInfo info;       // `available` as the node last reported it
    absl::Time last_heartbeat;  // on the liveness clock
    int64_t order;
    uint64_t resource_version;  // newest snapshot applied; older ones arrive late and are ignored
    std::vector<Hold> holds;
    bool recovered = false;  // taken over from a dead head, not heard from since
  };
  static proto::NodeInfo View(const Entry& entry);
  // The nodes (or the ALIVE ones), oldest first.
  std::vector<const Entry*> OrderedLocked(bool alive_only) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::vector<proto::NodeInfo> ListLocked(bool alive_only) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Takes the stored nodes in (registration order); the old head's own node is marked DEAD
  // and added to `dead`.
  void RecoverLocked(std::vector<proto::NodeInfo> rows, absl::Time silent_until,
                     std::vector<std::string>& dead) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::string> MarkSilentNodesDeadLocked(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDeadLocked(Entry& entry, const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the earliest dead of the DEAD nodes beyond max_dead_nodes (from the store too);
  // returns their ids, for ForgetAll once the lock is released. Erases from nodes_: never
  // while iterating it.
  [[nodiscard]] std::vector<std::string> DropOldDeadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetAll(const std::vector<std::string>& dropped) const ABSL_LOCKS_EXCLUDED(mu_);
  [[nodiscard]] absl::Status SaveLocked(const proto::NodeInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const Clock clock_;
  const Forget on_forget_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> nodes_ ABSL_GUARDED_BY(mu_);
  int64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_death_ ABSL_GUARDED_BY(mu_) = 1;  // NodeInfo.death_sequence of the next death
  uint64_t next_hold_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Time last_check_ ABSL_GUARDED_BY(mu_);
  TableStore* store_ ABSL_GUARDED_BY(mu_) = nullptr;
  mutable NodeIds alive_ids_ ABSL_GUARDED_BY(mu_);  // null when membership changed since
};

}  // namespace weft::head
