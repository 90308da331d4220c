#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "head.pb.h"
#include "raylet/head/storage/table_store.h"

namespace weft::head {

// Object id -> the worker stores that hold its bytes, and who owns it. Holds locations, never
// payloads. Thread-safe.
//
// An object lives as long as its owner holds a reference, and no longer than its owner: when
// the owning process ends (a worker exits, or a job ends: its driver owned what no worker
// did), RemoveOwnedBy drops its objects and returns the stores to free them at.
class ObjectDirectory {
 public:
  // Who owns an object: a worker of the job, or (worker_id empty) the job's driver.
  struct Owner {
    std::string job_id;
    std::string worker_id;
  };
  // Loads the objects kept in `store` (a restarted head) and writes every later change there
  // before it is acknowledged. Call once, before serving.
  [[nodiscard]] absl::Status Recover(TableStore& store);

  // Records that `location.worker_id` holds the object. INVALID_ARGUMENT without object or
  // worker id; FAILED_PRECONDITION when its owner has already ended (the store should free
  // it: nobody will); UNAVAILABLE when it cannot be stored. Adding the same worker twice
  // keeps one entry.
  [[nodiscard]] absl::Status Add(const std::string& object_id,
                                 const proto::ObjectLocation& location, const Owner& owner = {});

  // Every object with at least one copy, by id.
  std::vector<proto::ObjectInfo> List() const;

  // Forgets one copy; unknown objects or workers are ignored.
  void Remove(const std::string& object_id, const std::string& worker_id);
  // The worker's copy went to a spill file; unknown objects or workers are ignored (a copy is
  // never added back by this: it may have been freed meanwhile).
  void MarkSpilled(const std::string& object_id, const std::string& worker_id);

  // Every known copy of the object; empty when there is none.
  std::vector<proto::ObjectLocation> Locations(const std::string& object_id) const;

  // Drops every copy held on `node_id` (its workers are gone); returns how many.
  int RemoveNode(const std::string& node_id);
  // Drops every copy the worker held (it exited); returns how many.
  int RemoveWorker(const std::string& worker_id);

  // The owner ended: drops its objects; returns, by store address, the ids to free there.
  using Orphans = absl::flat_hash_map<std::string, std::vector<std::string>>;
  Orphans RemoveOwnedBy(const Owner& owner);

 private:
  struct Object {
    std::vector<proto::ObjectLocation> copies;
    Owner owner;
  };
  // How the ended owners are remembered, for results stored after their owner ended.
  static std::string OwnerKey(const Owner& owner);
  static constexpr size_t kGoneOwnersKept = 4096;
  int RemoveCopies(const std::function<bool(const proto::ObjectLocation&)>& gone);
  static TableStore::Change RowOf(const std::string& object_id, const Object& object);
  // The stored row of `object_id` as it is now (deleted when the object is gone).
  TableStore::Change RowLocked(const std::string& object_id) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Writes `changes` to the store, if any; a failure is logged (the change stands in memory).
  void SaveLocked(std::vector<TableStore::Change> changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Object> objects_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> gone_owners_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> gone_order_ ABSL_GUARDED_BY(mu_);  // oldest first
  TableStore* store_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace weft::head
