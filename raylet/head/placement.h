#pragma once

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

// Picks the node for a job's next default actor (no resources, no process of its own): the
// alive node whose shared worker of that job hosts the fewest of its actors (`hosted`, by node
// id; absent counts 0), the earliest in `alive` on ties, so a job's actors spread evenly.
// Empty when no node is alive. Pure function.
std::string PickSharedNode(const std::vector<proto::NodeInfo>& alive,
                           const absl::flat_hash_map<std::string, int>& hosted);

}  // namespace weft::head
