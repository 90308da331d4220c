#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "node.grpc.pb.h"

namespace weft::worker {

// Loads the shared libraries of a job's code (issue 14), known by their SHA-256: each from its
// node's copy (NodeManager.ProvideCode, which fetches it from the head the first time), once
// per process and in the job's order, so a library's own libraries are there before it.
// Thread-safe: a library being loaded holds up only the callers that need it.
class CodeLoader {
 public:
  // The node at `node_address` provides the copies.
  CodeLoader(std::string node_address, std::string token)
      : node_address_(std::move(node_address)), token_(std::move(token)) {}

  // Loads each library of `code` not loaded yet. One whose file name or SONAME a library of
  // this process already has (Weft's own, one of the system's) is not loaded again. Fails
  // naming the library: with the node's code when it could not provide it (UNAVAILABLE while
  // the node or head cannot, DATA_LOSS for a copy that is not what its hash says),
  // INVALID_ARGUMENT when the loader refuses it.
  [[nodiscard]] absl::Status Load(
      const google::protobuf::RepeatedPtrField<proto::CodeLibrary>& code);

 private:
  absl::Status LoadOne(const proto::CodeLibrary& library);
  proto::NodeManager::Stub& Node();

  const std::string node_address_;
  const std::string token_;
  absl::Mutex mu_;
  absl::CondVar done_;  // a library's loading ended
  std::unique_ptr<proto::NodeManager::Stub> node_ ABSL_GUARDED_BY(mu_);  // made at first use
  absl::flat_hash_set<std::string> loaded_ ABSL_GUARDED_BY(mu_);         // by SHA-256
  absl::flat_hash_set<std::string> loading_ ABSL_GUARDED_BY(mu_);        // by SHA-256
};

}  // namespace weft::worker
