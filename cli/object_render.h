#pragma once

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <string>

#include <map>

#include "head.pb.h"
#include "worker.pb.h"

namespace weft::cli {

// Renderings for `weft list objects`; pure functions, no I/O.

// What holds each object, by id, as its owner said (objects whose owner did not answer are
// missing: their counts show as "?" in a table, null in JSON).
using References = std::map<std::string, proto::ReferenceCounts>;

// One row per object: id, size, owner (job id, and the owning worker's id when a worker owns
// it), what holds it (the owner's own references, its calls that take it, borrowers), whether
// it is spilled, and where its bytes are (node/worker address; several joined by commas).
std::string RenderObjectsTable(const proto::ListObjectsReply& reply,
                               const References& references = {});
// A JSON array: {object_id, size_bytes, owner, owner_worker_id, spilled, references: {local,
// calls, borrowers: [address], kept} or null, locations: [{node_id, worker_id, address,
// spilled}]}.
std::string RenderObjectsJson(const proto::ListObjectsReply& reply,
                              const References& references = {});

// The pieces of those renderings that `weft memory` shows the same way.

// The object's size in bytes (each copy holds the same bytes); 0 when no copy tells it.
int64_t ObjectSize(const proto::ObjectInfo& object);
// Whether any copy of the object is in a spill file.
bool ObjectSpilled(const proto::ObjectInfo& object);
// One element of RenderObjectsJson's array (`references` null: unknown).
google::protobuf::Value ObjectJson(const proto::ObjectInfo& object,
                                   const proto::ReferenceCounts* references = nullptr);

}  // namespace weft::cli
