#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace weft::worker {

// The values this worker produced that were too large to return inline, by object id, until
// their owner frees them (no reference remains) or the worker exits. Thread-safe.
class ObjectStore {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  void Put(const std::string& id, Bytes bytes);
  Bytes Get(const std::string& id) const;  // null when unknown
  // Drops the objects; returns the ids that were stored. A fetch in progress keeps its bytes
  // until it ends.
  std::vector<std::string> Free(const std::vector<std::string>& ids);
  size_t size() const;
  size_t bytes() const;  // payload bytes stored

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bytes> objects_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace weft::worker
