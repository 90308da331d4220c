#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "raylet/head/node_directory.h"

namespace weft::head {

// Leases a worker: reserves resources on a node (NodeDirectory::Reserve) and has that
// node's raylet spawn the worker. The reply is sent from the node's answer; no gRPC thread
// waits. The node call inherits the caller's deadline and cancellation.
class SchedulerService final : public proto::Scheduler::CallbackService {
 public:
  SchedulerService(NodeDirectory& nodes, const TokenAuth& auth, std::string token)
      : nodes_(nodes), auth_(auth), token_(std::move(token)) {}

  grpc::ServerUnaryReactor* LeaseWorker(grpc::CallbackServerContext*,
                                        const proto::LeaseWorkerRequest*,
                                        proto::LeaseWorkerReply*) override;

  // Cancels every node call still in flight, so their leases finish (with CANCELLED) and the
  // server can shut down. Later leases are refused.
  void CancelAll();

 private:
  proto::NodeManager::Stub& NodeStub(const std::string& address);
  bool Track(grpc::ClientContext* call);
  void Untrack(grpc::ClientContext* call);

  NodeDirectory& nodes_;
  const TokenAuth& auth_;
  const std::string token_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<proto::NodeManager::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace weft::head
