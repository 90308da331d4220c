#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common.pb.h"
#include "common/resources.h"

namespace weft::head {

// Cluster membership: which nodes exist, what they offer, whether they are alive.
// A node is ALIVE from registration until it unregisters or misses heartbeats for longer
// than `node_timeout`; then it is DEAD for good (a restarted raylet registers a new id).
// Thread-safe.
class NodeDirectory {
 public:
  struct Options {
    absl::Duration heartbeat_period = absl::Milliseconds(500);
    absl::Duration node_timeout = absl::Seconds(3);
  };
  using Clock = std::function<absl::Time()>;

  explicit NodeDirectory(Options options, Clock clock = &absl::Now);

  const Options& options() const { return options_; }

  // Adds an ALIVE node. INVALID_ARGUMENT without id or address, ALREADY_EXISTS for a known id.
  [[nodiscard]] absl::Status Register(proto::NodeInfo node);

  // Records a heartbeat. NOT_FOUND for an unknown id; FAILED_PRECONDITION once the node is
  // DEAD (the raylet must stop: its workers are already considered lost).
  [[nodiscard]] absl::Status Heartbeat(const std::string& node_id, const ProtoResources& available,
                                       int num_workers);

  // Marks a node DEAD because it said goodbye. NOT_FOUND for an unknown id.
  [[nodiscard]] absl::Status Unregister(const std::string& node_id, const std::string& reason);

  // Marks DEAD every ALIVE node silent for longer than node_timeout; returns their ids.
  std::vector<std::string> MarkSilentNodesDead();

  // Subtracts `required` from a node's available resources until its next heartbeat.
  void Reserve(const std::string& node_id, const ResourceMap& required);

  std::optional<proto::NodeInfo> Get(const std::string& node_id) const;
  std::vector<proto::NodeInfo> List() const;  // all nodes, oldest first
  std::vector<proto::NodeInfo> ListAlive() const;

 private:
  struct Entry {
    proto::NodeInfo info;
    absl::Time last_heartbeat;
    int64_t order;
  };
  void MarkDeadLocked(Entry& entry, const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> nodes_ ABSL_GUARDED_BY(mu_);
  int64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace weft::head
