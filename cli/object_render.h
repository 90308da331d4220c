#pragma once

#include <string>

#include "head.pb.h"

namespace weft::cli {

// Renderings for `weft list objects`; pure functions, no I/O.

// One row per object: id, size, where its bytes are (node/worker address; several
// locations joined by commas), owner (job id).
std::string RenderObjectsTable(const proto::ListObjectsReply& reply);
// A JSON array: {object_id, size_bytes, owner, locations: [{node_id, worker_id, address}]}.
std::string RenderObjectsJson(const proto::ListObjectsReply& reply);

// "512 B", "1.5 KiB", "3.0 MiB", "2.0 GiB".
std::string HumanBytes(int64_t bytes);

}  // namespace weft::cli
