#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace weft {

// A node's shared memory: the folder <root>/weft-node-<node_id>, where the node's workers keep
// the values they store (a file each) and the node's other processes map them instead of
// copying them (Ray's plasma store hands objects over the same way). <root> is $WEFT_SHM_DIR,
// else /dev/shm: a tmpfs, so what is in the folder is memory, not disk.
//
// The raylet creates it and holds a lock on it (flock on the folder) for its life; the folder
// goes when the raylet ends in order, and a raylet that was SIGKILLed leaves one that the next
// raylet starting on the machine (or `weft stop`) removes: nobody holds its lock.
class NodeSharedMemory {
 public:
  // Removes folders of ended raylets, then creates and locks this node's.
  static absl::StatusOr<std::unique_ptr<NodeSharedMemory>> Create(const std::string& node_id);
  ~NodeSharedMemory();
  NodeSharedMemory(const NodeSharedMemory&) = delete;
  NodeSharedMemory& operator=(const NodeSharedMemory&) = delete;

  const std::string& dir() const { return dir_; }

 private:
  NodeSharedMemory(std::string dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  const std::string dir_;
  const int lock_fd_;
};

// Removes the nodes' shared memory folders that no running raylet holds.
void RemoveAbandonedSharedMemory();

// Locked folders: each is created under a temporary name, locked, then renamed into place, so a
// folder under its own name is locked from the start, and one nobody locks is abandoned.
//
// Creates folder `path` (mode 0700), locked for as long as the returned descriptor stays open
// (closed on exec: a child does not inherit the lock).
absl::StatusOr<int> CreateLockedDir(const std::string& path);
// Removes folder `path` (a real folder of this user, not a link) if nobody holds its lock;
// whether it did.
bool RemoveIfAbandoned(const std::string& path);

// Whether some process holds the lock of the folder at `path` (through a link too).
bool FolderHeld(const std::string& path);

// Whether the folder at `path` may be swept (RemoveIfAbandoned): named `prefix` followed by an id
// of 16 lowercase hex digits (NewNodeId), or such a name still being built (CreateLockedDir)
// for over a minute, by a process that died before it was done.
bool Sweepable(const std::filesystem::path& path, const std::string& prefix);

}  // namespace weft
