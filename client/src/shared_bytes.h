#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common.pb.h"
#include "weft/bytes.h"

namespace weft::internal {

// Object bytes in files that processes of one machine share: a node's shared memory and its
// workers' spill files (common/store_budget).

// A read-only mapping of the whole file at `path`, kept while the returned bytes live; removing
// the file meanwhile takes nothing from them. NOT_FOUND when the file is not there.
absl::StatusOr<Bytes> MapFile(const std::string& path);

// A file at `path` (mode 0600) written a piece at a time and seen whole or not at all: written
// aside, then put in place by Commit, never over a file already there (a value of one id is the
// same bytes). Its whole size is allocated first, so a full filesystem fails at once. Removed
// unless committed.
class FileWriter {
 public:
  // UNAVAILABLE when the file cannot be made or `size` bytes allocated for it.
  static absl::StatusOr<std::unique_ptr<FileWriter>> Create(const std::string& path, size_t size);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  absl::Status Append(std::string_view bytes);
  // Puts the file in place once all its bytes are written; UNAVAILABLE before, or on failure.
  absl::Status Commit();
  // What was written so far, read back (to go on in memory when writing fails); UNAVAILABLE
  // when it cannot all be read.
  absl::StatusOr<std::string> ReadBack() const;
  const std::string& path() const { return path_; }
  size_t size() const { return size_; }

 private:
  FileWriter(std::string path, std::string part, int fd, size_t size);
  const std::string path_;
  const std::string part_;
  int fd_;
  const size_t size_;
  size_t written_ = 0;
  bool committed_ = false;
};

// Writes `bytes` to a file at `path` with a FileWriter; UNAVAILABLE when that fails, e.g. on a
// full filesystem.
absl::Status WriteFile(const std::string& path, std::string_view bytes);

// The bytes of a stored object mapped from this machine, when the node storing them keeps its
// objects under `objects_dir` (this process's session's <session>/objects): from the node's
// shared memory. Null when they cannot be had that way (another machine or session, spilled,
// or freed meanwhile): fetch them then.
Bytes MapStoredObject(const std::string& objects_dir, const std::string& id,
                      const proto::ObjectLocation& location);

// The copy a worker stored at `location`, as this machine sees it: on one of its nodes (under
// `objects_dir`), in memory or spilled; known gone from there (freed, or its worker killed); or
// elsewhere, which cannot be told.
enum class StoredCopy { kHere, kGone, kElsewhere };
StoredCopy CheckStoredCopy(const std::string& objects_dir, const std::string& id,
                           const proto::ObjectLocation& location);

// Where this process keeps large values in its node's shared memory, so that the node's other
// processes map them instead of each getting a copy: its Put values, and the values it fetched
// from other machines. A folder <objects_dir>/<node_id>/memory/<name>, made on first use; a
// value's file goes with this process's last reference to it. A worker's is its store's folder
// (its raylet removes it when the worker exits); a driver's is one of its own, on a node of its
// session on this machine, locked for its life (the node's raylet removes it once nobody holds
// the lock, however the driver ended). Thread-safe.
class SharedFolder {
 public:
  // A worker's (`worker_id` of node `node_id`), or with both empty a driver's.
  SharedFolder(std::string objects_dir, std::string node_id, std::string worker_id);
  ~SharedFolder();
  SharedFolder(const SharedFolder&) = delete;
  SharedFolder& operator=(const SharedFolder&) = delete;

  // `bytes` of this process's Put value `id` written to a file of the folder and mapped from
  // it; the file goes with the last copy of the returned pointer. Null when there is no folder
  // or it is full.
  Bytes Share(const std::string& id, std::string_view bytes);
  // The same for a value fetched from another machine, kept for the node's other processes
  // under a name of its own (<hex id>.copy: never a worker's store file or a Put value), and
  // written a piece at a time as the fetch receives it: a writer of the copy's `size` bytes
  // (null when there is no folder, it is full, or this process maps the value already), then
  // the copy mapped once they are all written (null when that fails: ReadBack has them).
  std::unique_ptr<FileWriter> BeginCopy(const std::string& id, size_t size);
  Bytes FinishCopy(const std::string& id, FileWriter& writer);
  // Object `id` of `size` bytes as another process of this node keeps it (a worker's store, a
  // Put value, a copy fetched from another machine), linked into this folder so that it stays
  // while this process holds it, and mapped. Null when no process of the node has it.
  Bytes FindOnNode(const std::string& id, int64_t size);
  // Where a process of one of `nodes` maps Put value `id` of `size` bytes (MapStoredObject),
  // if it is in the folder. No address: a process that cannot map it asks this one again.
  std::optional<proto::ObjectLocation> Find(const std::string& id, int64_t size,
                                            const std::vector<std::string>& nodes) const;
  const std::string& objects_dir() const { return objects_dir_; }

 private:
  // Makes (or finds) the folder once; false when there is none.
  bool OpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Where this folder keeps object `id`, or a copy of it ("" when there is no folder).
  std::string PathOf(const std::string& id, bool copy);
  // The bytes of `id` this folder still maps, if any: never a second file or keeper for them.
  Bytes Live(const std::string& id);
  Bytes Remember(const std::string& id, Bytes bytes);
  static constexpr char kCopySuffix[] = ".copy";

  const std::string objects_dir_;
  mutable absl::Mutex mu_;
  bool tried_ ABSL_GUARDED_BY(mu_) = false;
  std::string node_id_ ABSL_GUARDED_BY(mu_);  // empty until the folder is open
  std::string name_ ABSL_GUARDED_BY(mu_);
  int lock_fd_ ABSL_GUARDED_BY(mu_) = -1;  // a driver's; -1 for a worker's
  absl::flat_hash_map<std::string, std::weak_ptr<const Buffer>> live_ ABSL_GUARDED_BY(mu_);
};

// The nodes of the session (under `objects_dir`) whose shared memory this process can map: their
// raylet runs (it holds the folder's lock).
std::vector<std::string> MappableNodes(const std::string& objects_dir);

}  // namespace weft::internal
