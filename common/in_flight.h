#pragma once

#include <grpcpp/client_context.h>

#include <condition_variable>
#include <functional>
#include <mutex>

#include "absl/container/flat_hash_set.h"

namespace weft {

// The asynchronous calls a component has started, so that it can cancel them and wait for
// their completions to finish before it is destroyed. Thread-safe.
class InFlight {
 public:
  // Registers a call about to start; false once closing (then do not start it).
  bool Add(grpc::ClientContext* call);
  // Unregisters a call; its completion must not touch the component after this. `release`
  // (if any) runs under the lock, before CancelAllAndWait may return: it should destroy the
  // call's context (or its owner), so that the last reference to the channel is never dropped
  // on a gRPC thread (gRPC 1.51 would free its callback queue under that very thread).
  void Remove(grpc::ClientContext* call, const std::function<void()>& release = nullptr);
  // Refuses new calls, cancels the registered ones and waits until all are removed.
  void CancelAllAndWait();
  // True once CancelAllAndWait has begun: a CANCELLED call was cancelled here.
  bool closing();

 private:
  std::mutex mu_;
  std::condition_variable removed_;
  absl::flat_hash_set<grpc::ClientContext*> calls_;
  bool closing_ = false;
};

}  // namespace weft
