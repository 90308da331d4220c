#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

#include "absl/status/statusor.h"
#include "common.pb.h"
#include "common/resources.h"

namespace weft::head {

// Picks the node for a new worker among `alive` nodes: one whose available resources cover
// `required`, preferring the least loaded (highest fraction of CPU still free), so work
// spreads over the cluster. Pure function, no I/O.
//
// RESOURCE_EXHAUSTED when some node could hold the request once free but none can now;
// UNAVAILABLE when no alive node has that much in total (the request is infeasible).
[[nodiscard]] absl::StatusOr<proto::NodeInfo> PickNode(const std::vector<proto::NodeInfo>& alive,
                                                       const ResourceMap& required);

// Picks the node for a job's next default actor (no resources, no process of its own): an
// alive node whose shared worker of that job hosts the fewest of its actors, so a job's actors
// spread evenly. It looks at the nodes in turn from where its last pick left off, and keeps a
// floor no node's count is below: while actors are created a pick costs a look or two, not a
// pass over every node (a thousand nodes made a pass per actor the head's largest cost); after
// actors died, the first pick may pass over all of them once. One per job.
class SharedSpread {
 public:
  // How many of the job's actors a node's shared worker hosts (0 for none).
  using Hosted = std::function<int(const std::string& node_id)>;

  // A node among `alive` (NodeDirectory::AliveIds; a new snapshot when membership changed)
  // with the fewest hosted; empty when none is alive.
  std::string Pick(const std::shared_ptr<const std::vector<std::string>>& alive,
                   const Hosted& hosted);
  // A node's count went down to `count` (an actor of the job died or moved away).
  void Lowered(int count) { floor_ = std::min(floor_, count); }

 private:
  std::shared_ptr<const std::vector<std::string>> alive_;
  size_t next_ = 0;  // where the next look starts
  int floor_ = 0;    // no alive node hosts fewer
};

}  // namespace weft::head
