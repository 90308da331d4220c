#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace weft::worker {

// The values this worker produced that were too large to return inline, by object id, until
// the job that owns them finishes. Thread-safe.
class ObjectStore {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  void Put(const std::string& id, const std::string& job_id, Bytes bytes);
  Bytes Get(const std::string& id) const;  // null when unknown
  // Drops every object of `job_id`; returns how many.
  int DropJob(const std::string& job_id);
  size_t size() const;

 private:
  struct Stored {
    std::string job_id;
    Bytes bytes;
  };
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Stored> objects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::worker
