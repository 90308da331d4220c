#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common.pb.h"
#include "weft/bytes.h"

namespace weft::internal {

// Object bytes in files that processes of one machine share: a node's shared memory and its
// workers' spill files (common/store_budget).

// A read-only mapping of the whole file at `path`, kept while the returned bytes live; removing
// the file meanwhile takes nothing from them. NOT_FOUND when the file is not there.
absl::StatusOr<Bytes> MapFile(const std::string& path);

// Writes `bytes` to a new file at `path` (mode 0600); the file is removed again if that fails
// (RESOURCE_EXHAUSTED when its filesystem is full, UNAVAILABLE otherwise).
absl::Status WriteFile(const std::string& path, std::string_view bytes);

// The bytes of a stored object mapped from this machine, when the node storing them keeps its
// objects under `objects_dir` (this process's session's <session>/objects): from the node's
// shared memory, or from the spill file of the worker storing them. Null when they cannot be
// had that way (another machine or session, or freed meanwhile): fetch them then.
Bytes MapStoredObject(const std::string& objects_dir, const std::string& id,
                      const proto::ObjectLocation& location);

}  // namespace weft::internal
