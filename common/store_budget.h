#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common.pb.h"

namespace weft {

// A node's object store capacity and accounting, shared by the raylet and the node's workers
// through files they all map (lock-free atomics in shared memory):
//
//   <session>/objects/<node_id>/budget                 the node's counters
//   <session>/objects/<node_id>/<worker_id>/account    one worker's share of them
//   <session>/objects/<node_id>/<worker_id>/spilled/   that worker's spill files
//
// A worker keeps its stored results in its own memory after reserving their bytes here; what
// does not fit goes to its spill folder (worker/object_store). The raylet creates the budget,
// reports it in its heartbeats, and reclaims a worker's share when the worker exits, however
// it exits (a SIGKILL between the two counter updates of one object can leave that object's
// bytes counted until the node restarts).
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
  // Where this worker writes its spill files.
  const std::string& spill_dir() const { return spill_dir_; }

  proto::ObjectStoreFigures Figures() const;
  // The raylet's: a worker exited; its share leaves the node's counters and its folder goes.
  void Reclaim(const std::string& worker_id);

 private:
  struct Counters;
  StoreBudget(std::string node_dir, Counters* node, Counters* own);

  const std::string node_dir_;
  std::string spill_dir_;
  Counters* node_;
  Counters* own_;  // null for the raylet's
};

}  // namespace weft
