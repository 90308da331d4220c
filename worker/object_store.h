#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace weft::worker {

// The values this worker produced that were too large to return inline, by object id, for
// the worker's life (a job's workers end with the job). Thread-safe.
class ObjectStore {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  void Put(const std::string& id, Bytes bytes);
  Bytes Get(const std::string& id) const;  // null when unknown
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bytes> objects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::worker
