#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/resources.h"
#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "raylet/head/node_directory.h"

namespace weft::head {

// Leases a worker: reserves resources on a node (NodeDirectory::Reserve) and has that
// node's raylet spawn the worker. The reply is sent from the node's answer; no gRPC thread
// waits. The node call inherits the caller's deadline and cancellation, and is bounded by
// kNodeCallTimeout. A worker whose lease never reached its caller is killed again.
class SchedulerService final : public proto::Scheduler::CallbackService {
 public:
  SchedulerService(NodeDirectory& nodes, const TokenAuth& auth, std::string token)
      : nodes_(nodes), auth_(auth), token_(std::move(token)) {}

  grpc::ServerUnaryReactor* LeaseWorker(grpc::CallbackServerContext*,
                                        const proto::LeaseWorkerRequest*,
                                        proto::LeaseWorkerReply*) override;

  using LeaseDone = std::function<void(absl::StatusOr<proto::LeaseWorkerReply>)>;
  // Reserves `required` on a node and has it start a worker for `job_id`; `done` runs on a
  // gRPC thread (or at once, when nothing fits). The worker belongs to the caller.
  void Lease(const std::string& job_id, const ProtoResources& required, LeaseDone done);

  // Kills every worker leased for `job_id` (its driver is done), except those in `keep`.
  void ReleaseJob(const std::string& job_id, const absl::flat_hash_set<std::string>& keep);

  // Kills a leased worker that is no longer wanted (SIGKILL through its node).
  void KillWorker(const std::string& node_address, const std::string& worker_id);

  // Cancels the calls still waiting on `node_id` (it died): their leases fail at once.
  void CancelNode(const std::string& node_id);

  // Cancels every node call still in flight, so their leases finish and the server can shut
  // down. Later leases are refused.
  void CancelAll();

 private:
  class LeaseReactor;
  proto::NodeManager::Stub& NodeStub(const std::string& address);
  bool Track(grpc::ClientContext* call, const std::string& node_id);
  void Untrack(grpc::ClientContext* call);

  NodeDirectory& nodes_;
  const TokenAuth& auth_;
  const std::string token_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<proto::NodeManager::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<grpc::ClientContext*, std::string> in_flight_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  struct Leased {
    std::string node_address;
    std::string worker_id;
  };
  absl::flat_hash_map<std::string, std::vector<Leased>> leased_ ABSL_GUARDED_BY(mu_);  // by job
};

}  // namespace weft::head
