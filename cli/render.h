#pragma once

#include <string>
#include <vector>

#include "head.pb.h"

namespace weft::cli {

// Renderings of the node table; pure functions of the reply, no I/O.

// `weft status`, as `ray status`: nodes, resources used of total in all and per alive node,
// object stores, and the demand that waits: leases queued for resources and actors PENDING
// (`pending_actors`), grouped by why they wait.
std::string RenderStatus(const proto::ListNodesReply& reply, const std::string& head_address,
                         const std::vector<proto::ActorInfo>& pending_actors = {});
std::string RenderNodesTable(const proto::ListNodesReply& reply);
std::string RenderNodesJson(const proto::ListNodesReply& reply);

}  // namespace weft::cli
