#pragma once

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace weft::worker {

// Loads the shared libraries that register a job's actor classes and functions (dlopen, once
// per path). Thread-safe.
class CodeLoader {
 public:
  // INVALID_ARGUMENT naming the library and dlerror() when one cannot be loaded.
  [[nodiscard]] absl::Status Load(const google::protobuf::RepeatedPtrField<std::string>& paths);

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> loaded_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::worker
