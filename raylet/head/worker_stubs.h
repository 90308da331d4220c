#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc.h"
#include "worker.grpc.pb.h"

namespace weft::head {

// The head's stubs to workers (ConstructActors, DestroyActor, FreeObjects), one per address,
// carrying the cluster token. Kept for the head's life: a channel must not lose its last
// reference on a gRPC thread, where a call's completion would drop it (gRPC 1.51). Thread-safe.
class WorkerStubs {
 public:
  explicit WorkerStubs(std::string token) : token_(std::move(token)) {}

  proto::Worker::Stub& Get(const std::string& address) {
    absl::MutexLock lock(&mu_);
    auto& stub = stubs_[address];
    if (!stub) stub = proto::Worker::NewStub(MakeChannel(address, token_));
    return *stub;
  }

 private:
  const std::string token_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<proto::Worker::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
