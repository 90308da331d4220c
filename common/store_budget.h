#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common.pb.h"
#include "common/shared_memory.h"

namespace weft {

// A node's object store: its capacity and accounting, shared by the raylet and the node's
// workers through files they all map (lock-free atomics in shared memory), and where the
// workers keep the values they store:
//
//   <session>/objects/<node_id>/budget                 the node's counters
//   <session>/objects/<node_id>/memory/<worker_id>/    one worker's values, in the node's shared
//                                                      memory (a link to common/shared_memory)
//   <session>/objects/<node_id>/<worker_id>/account    one worker's share of the counters
//   <session>/objects/<node_id>/<worker_id>/spilled/   that worker's spill files
//
// A worker keeps a stored result in the node's shared memory after reserving its bytes here,
// where the node's other processes of the session map it (ValuePath); what does not fit goes
// to its spill folder (worker/object_store). Without shared memory (no tmpfs), the worker keeps
// its values in its own memory. The raylet creates the store, reports it in its heartbeats,
// and reclaims a worker's share (and files) when the worker exits, however it exits (a SIGKILL
// between the two counter updates of one object can leave that object's bytes counted until
// the node restarts).
class StoreBudget {
 public:
  // The raylet's: creates (or resets) the node's budget with `capacity` bytes.
  static absl::StatusOr<std::unique_ptr<StoreBudget>> Create(const std::string& node_dir,
                                                             int64_t capacity);
  // A worker's: maps the node's budget and creates the worker's own account and spill folder.
  static absl::StatusOr<std::unique_ptr<StoreBudget>> Join(const std::string& node_dir,
                                                           const std::string& worker_id);
  ~StoreBudget();
  StoreBudget(const StoreBudget&) = delete;
  StoreBudget& operator=(const StoreBudget&) = delete;

  // 30% of this machine's memory, as Ray's default object store size.
  static int64_t DefaultCapacity();

  int64_t capacity() const;
  // Takes `bytes` of the node's memory budget; false (nothing taken) when they do not fit.
  bool Reserve(int64_t bytes);
  void Release(int64_t bytes);
  // An object of `bytes` went to a spill file (+1) or its file was removed (-1).
  void Spilled(int64_t bytes, int sign);
  void Restored();
  // Where this worker keeps value `object_id`: in the node's shared memory (empty when the
  // node has none), or in a spill file.
  std::string MemoryPath(const std::string& object_id) const;
  std::string SpillPath(const std::string& object_id) const;
  // The same, for a process of this machine that reads a value stored by worker `worker_id` of
  // the node whose folder is `node_dir` (<session>/objects/<node_id>).
  static std::string ValuePath(const std::string& node_dir, const std::string& worker_id,
                               const std::string& object_id, bool spilled);

  proto::ObjectStoreFigures Figures() const;
  // The raylet's: a worker exited; its share leaves the node's counters and its folder goes.
  void Reclaim(const std::string& worker_id);
  // The raylet's: removes the folders of the node's shared memory where drivers that have
  // ended kept their Put values (client/src/shared_bytes.h, SharedFolder).
  void RemoveAbandonedSharedFolders();
  // The prefix of a driver's folder there.
  static constexpr char kDriverFolderPrefix[] = "driver-";

 private:
  struct Counters;
  StoreBudget(std::string node_dir, Counters* node, Counters* own);

  const std::string node_dir_;
  std::string worker_id_;  // empty for the raylet's
  bool shared_ = false;    // the node has shared memory
  Counters* node_;
  Counters* own_;                             // null for the raylet's
  std::unique_ptr<NodeSharedMemory> memory_;  // the raylet's
};

}  // namespace weft
