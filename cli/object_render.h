#pragma once

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <string>

#include "head.pb.h"

namespace weft::cli {

// Renderings for `weft list objects`; pure functions, no I/O.

// One row per object: id, size, where its bytes are (node/worker address; several
// locations joined by commas), owner (job id).
std::string RenderObjectsTable(const proto::ListObjectsReply& reply);
// A JSON array: {object_id, size_bytes, owner, locations: [{node_id, worker_id, address}]}.
std::string RenderObjectsJson(const proto::ListObjectsReply& reply);

// The pieces of those renderings that `weft memory` shows the same way.

// The object's size in bytes (each copy holds the same bytes); 0 when no copy tells it.
int64_t ObjectSize(const proto::ObjectInfo& object);
// One element of RenderObjectsJson's array.
google::protobuf::Value ObjectJson(const proto::ObjectInfo& object);

}  // namespace weft::cli
