#pragma once

#include <vector>

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

}  // namespace weft::head
