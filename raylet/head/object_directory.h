#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "head.pb.h"

namespace weft::head {

// Object id -> the worker stores that hold its bytes. Holds locations, never payloads.
// Thread-safe.
class ObjectDirectory {
 public:
  // Records that `location.worker_id` holds the object. INVALID_ARGUMENT without object or
  // worker id. Adding the same worker twice keeps one entry.
  [[nodiscard]] absl::Status Add(const std::string& object_id,
                                 const proto::ObjectLocation& location,
                                 const std::string& owner = "");

  // Every object with at least one copy, by id.
  std::vector<proto::ObjectInfo> List() const;

  // Forgets one copy; unknown objects or workers are ignored.
  void Remove(const std::string& object_id, const std::string& worker_id);

  // Every known copy of the object; empty when there is none.
  std::vector<proto::ObjectLocation> Locations(const std::string& object_id) const;

  // Drops every copy held on `node_id` (its workers are gone); returns how many.
  int RemoveNode(const std::string& node_id);
  // Drops every copy the worker held (it exited); returns how many.
  int RemoveWorker(const std::string& worker_id);

 private:
  struct Object {
    std::vector<proto::ObjectLocation> copies;
    std::string owner;
  };
  int RemoveCopies(const std::function<bool(const proto::ObjectLocation&)>& gone);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Object> objects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
