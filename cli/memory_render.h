#pragma once

#include <string>

#include "head.pb.h"

namespace weft::cli {

// Renderings for `weft memory`; pure functions, no I/O. Only ALIVE nodes are shown (a dead
// node's store is gone). Objects are ranked by size, largest first, ties by object id.

// The object store of each node: used/capacity, peak, spilled bytes and objects, spills and
// restores so far, then their totals; the `top` largest objects with size, owner job, node
// and worker; and a last line with how many objects are stored and the bytes of all their
// copies. Says so when there are no alive nodes or no stored objects.
std::string RenderMemory(const proto::ListNodesReply& nodes, const proto::ListObjectsReply& objects,
                         int top);

// One JSON object: `nodes`, [{node_id, address, capacity_bytes, used_bytes, peak_bytes,
// spilled_bytes, spilled_objects, spills, restores}]; `objects`, the `top` largest as
// `weft list objects --format json` shows them; `stored_objects` and `stored_bytes`, all
// objects and the bytes of all their copies.
std::string RenderMemoryJson(const proto::ListNodesReply& nodes,
                             const proto::ListObjectsReply& objects, int top);

}  // namespace weft::cli
