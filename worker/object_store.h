#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/store_budget.h"
#include "weft/bytes.h"

namespace weft::worker {

// The values this worker produced that were too large to return inline, by object id, until
// their owner frees them (no reference remains) or the worker exits. Thread-safe.
//
// Bounded by the node's budget (common/store_budget), shared with the node's other workers: a
// value is kept in memory once its bytes are reserved there, in a file of the node's shared
// memory that the node's other processes map instead of fetching a copy (this worker's own
// memory where the node has none, or it is full). When the bytes do not fit, this worker's
// oldest values in memory go to spill files until they do; if that is not enough (other
// workers hold the budget), the new value itself goes to a file. A fetch reads a spilled value
// from its file, without bringing it back into memory. Without a budget (tests, tools),
// everything stays in this worker's memory.
class ObjectStore {
 public:
  using Bytes = internal::Bytes;

  explicit ObjectStore(std::unique_ptr<StoreBudget> budget = nullptr);
  ~ObjectStore();

  // Keeps `bytes` under `id`. RESOURCE_EXHAUSTED, naming the limit, when they are larger than
  // the node's whole store; UNAVAILABLE when a spill file cannot be written. The ids that went
  // to spill files to make room (older values, or this one) are added to `spilled`.
  absl::Status Put(const std::string& id, Bytes bytes, std::vector<std::string>* spilled = nullptr);

  // Where a stored value is read from: its bytes in memory, or an open spill file (the reader
  // owns the descriptor; the file's bytes stay readable even if the value is freed meanwhile).
  struct Source {
    Bytes bytes;
    int fd = -1;
    int64_t size = 0;
  };
  std::optional<Source> Open(const std::string& id) const;

  // Drops the objects; returns the ids that were stored. A fetch in progress keeps its bytes
  // until it ends.
  std::vector<std::string> Free(const std::vector<std::string>& ids);
  size_t size() const;
  // Whether `id` is stored, in a spill file.
  bool Spilled(const std::string& id) const;

 private:
  struct Stored {
    Bytes bytes;  // null once spilled
    int64_t size = 0;
  };
  // The value in a file of the node's shared memory, mapped; `bytes` itself when the node has
  // none or it is full.
  Bytes Share(const std::string& id, Bytes bytes) const;
  // Removes the value's file of shared memory, if it has one.
  void Unshare(const std::string& id, const Stored& stored) const;
  // Spills this worker's oldest values in memory until `bytes` more fit in the budget (and
  // reserves them); false when even then they do not.
  bool MakeRoomLocked(int64_t bytes, std::vector<std::string>* spilled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<StoreBudget> budget_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Stored> objects_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> in_memory_ ABSL_GUARDED_BY(mu_);  // oldest first; may hold stale ids
};

}  // namespace weft::worker
