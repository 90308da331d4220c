#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common.pb.h"
#include "weft/bytes.h"

namespace weft::internal {

// Object bytes in files that processes of one machine share: a node's shared memory and its
// workers' spill files (common/store_budget).

// A read-only mapping of the whole file at `path`, kept while the returned bytes live; removing
// the file meanwhile takes nothing from them. NOT_FOUND when the file is not there.
absl::StatusOr<Bytes> MapFile(const std::string& path);

// Writes `bytes` to a new file at `path` (mode 0600); UNAVAILABLE (the file removed again) when
// that fails, e.g. on a full filesystem.
absl::Status WriteFile(const std::string& path, std::string_view bytes);

// The bytes of a stored object mapped from this machine, when the node storing them keeps its
// objects under `objects_dir` (this process's session's <session>/objects): from the node's
// shared memory. Null when they cannot be had that way (another machine or session, spilled,
// or freed meanwhile): fetch them then.
Bytes MapStoredObject(const std::string& objects_dir, const std::string& id,
                      const proto::ObjectLocation& location);

// Where this process writes its large Put values, so that the processes of its node map them
// instead of each getting a copy: a folder of a node's shared memory,
// <objects_dir>/<node_id>/memory/<name>. A worker's is its store's folder (its raylet removes
// it when the worker exits); a driver's is one of its own, locked for its life (the node's
// raylet removes it once nobody holds the lock, however the driver ended).
class PutFolder {
 public:
  static std::unique_ptr<PutFolder> ForWorker(const std::string& objects_dir,
                                              const std::string& node_id,
                                              const std::string& worker_id);
  // In a node of the session on this machine; null when there is none.
  static std::unique_ptr<PutFolder> ForDriver(const std::string& objects_dir);
  ~PutFolder();
  PutFolder(const PutFolder&) = delete;
  PutFolder& operator=(const PutFolder&) = delete;

  // `bytes` written to a file of the folder and mapped from it; the file goes with the last
  // copy of the returned pointer. Null when they cannot be written (the shared memory is full).
  Bytes Share(const std::string& id, std::string_view bytes) const;
  // Where a process of the node maps object `id` of `size` bytes (MapStoredObject). It has no
  // address: a process that cannot map it asks this one for the value.
  proto::ObjectLocation Location(const std::string& id, int64_t size) const;
  const std::string& node_id() const { return node_id_; }

 private:
  PutFolder(std::string node_dir, std::string node_id, std::string name, int lock_fd)
      : node_dir_(std::move(node_dir)),
        node_id_(std::move(node_id)),
        name_(std::move(name)),
        lock_fd_(lock_fd) {}
  const std::string node_dir_;
  const std::string node_id_;
  const std::string name_;
  const int lock_fd_;  // a driver's; -1 for a worker's
};

// The nodes of the session (under `objects_dir`) whose shared memory this process can map.
std::vector<std::string> MappableNodes(const std::string& objects_dir);

}  // namespace weft::internal
