#pragma once

#include <grpcpp/server_builder.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/session_dir.h"
#include "common/store_budget.h"
#include "common/token_holder.h"
#include "log.grpc.pb.h"
#include "raylet/node/head_link.h"
#include "raylet/node/log_publisher.h"
#include "raylet/node/node_logs_service.h"
#include "raylet/node/node_service.h"
#include "raylet/node/worker_output.h"
#include "raylet/node/worker_pool.h"
#include "raylet/raylet_options.h"

namespace weft::node {

// One node of the cluster: its worker pool, the NodeManager and NodeLogs services, the link
// to the head (registration, heartbeats, exit reports) and the workers' output on its way to
// the head. Timers and output pipes run on the raylet's io_context.
//
// Fencing: the node stops (SIGKILL) all its workers when no heartbeat it sent in the last
// FenceAfter() (common/fence_rule.h) was acknowledged, or when the head refuses it; then it calls
// `on_fatal` and serves nothing more. A head whose port refuses connections is not running,
// so it cannot declare this node dead, and a restarted head waits its head lost timeout for
// the nodes it knew: while that holds the node keeps its workers, up to that timeout after the
// head last answered, and carries on with the same id once the head is back. Its workers learn
// the same deadline (plus WorkerGrace) from CheckNode and stop themselves if the node stops
// answering. The head's own node shares the head's process (a stall stops both, and the head
// credits it): it fences only when refused, and its workers run no watch. Info(), ServeFor() are
// thread-safe.
class Node {
 public:
  using FatalCallback = std::function<void(absl::Status)>;

  Node(asio::io_context& io, const RayletOptions& options, const TokenAuth& auth,
       const SessionDir& session);
  ~Node();

  void AddServices(grpc::ServerBuilder& builder) {
    builder.RegisterService(&service_);
    builder.RegisterService(&logs_service_);
    builder.RegisterService(&token_holder_);
  }

  // Where a node is reached, and reaches its head (issue 14).
  struct Addresses {
    std::string advertised;  // by the head and others: registered with the head
    std::string local;       // by its own workers: where it listens (loopback for a wildcard)
    std::string head;        // its head's (the head's own node: the head's local address)
    std::string metrics;     // host:port of its Prometheus /metrics; empty: it serves none
  };

  // Registers with the head at `at.head` (retrying up to `register_wait`), opens the worker
  // pool and starts heartbeating. `on_fatal` runs on the io_context once the node has fenced
  // itself (refused by the head, or no heartbeat acknowledged in time).
  [[nodiscard]] absl::Status Start(const Addresses& at, FatalCallback on_fatal,
                                   absl::Duration register_wait = absl::Seconds(10));

  // Reaps exited workers; call on SIGCHLD.
  void OnChildExited() { pool_.Reap(); }

  // Refuses new workers, stops every worker (graceful, then forced), says goodbye (unless
  // fenced: the head is out of reach) and publishes the workers' last output (waiting at
  // most a second for the head).
  void Stop(const std::string& reason);

  // How long a worker asking now may serve without another answer: until the node's own fence
  // time plus WorkerGrace (common/fence_rule.h); 0 once fenced.
  absl::Duration ServeFor() const;
  // When the head last acknowledged a heartbeat (or the registration).
  absl::Time last_head_contact() const { return last_head_contact_; }
  // How long it waits for a head that is down: its head's term, else --head-lost-timeout-ms.
  absl::Duration head_lost_timeout() const { return head_lost_timeout_; }

  proto::NodeInfo Info() const;
  const std::string& id() const { return id_; }

 private:
  static OutputOptions OutputOptionsOf(const proto::WorkerInfo& worker);
  // Reclaims its store share and reports it to the head (a failed driver with its last line).
  void OnWorkerExit(proto::WorkerInfo worker);

  // Where heartbeat answers go. Shared with in-flight calls, so an answer that arrives after
  // Stop() finds `io` cleared instead of a destroyed Node.
  struct HeartbeatSink {
    absl::Mutex mu;
    asio::io_context* io ABSL_GUARDED_BY(mu);
    std::function<void(absl::Status, std::chrono::steady_clock::time_point)> deliver
        ABSL_GUARDED_BY(mu);
    std::function<void(bool refused, std::chrono::steady_clock::time_point)> probed
        ABSL_GUARDED_BY(mu);
  };

  proto::NodeInfo InfoAt(const WorkerPool::Snapshot& pool) const;
  using SteadyTime = std::chrono::steady_clock::time_point;
  void AdoptTerms(const HeadLink::Terms& terms, SteadyTime sent);
  void ScheduleHeartbeat();
  void OnHeartbeatDone(const absl::Status& status, SteadyTime sent);
  // After a failed heartbeat sent at `sent`: is the head's port refused, i.e. is no head
  // running (killed, restarting)? Answers OnProbed on the io_context; one probe at a time.
  void ProbeHead(SteadyTime sent);
  void OnProbed(bool refused, SteadyTime sent);
  void ArmFence(SteadyTime at);
  // PERMISSION_DENIED `code`: the head refuses this node for good (another cluster's head, or
  // another token); the raylet then exits instead of rejoining.
  void Fence(const std::string& reason, absl::StatusCode code = absl::StatusCode::kUnavailable);
  void ScheduleStartExpiry();
  proto::AdoptTokenReply HandTokenOn(const std::string& from, const TokenRotation& rotation);

  const RayletOptions& options_;
  const std::string id_;
  // The node's object store: its budget (shared with its workers) under the session dir.
  // Null when the folder could not be made; Start then fails with store_status_.
  const std::string store_dir_;
  absl::Status store_status_;
  std::unique_ptr<StoreBudget> store_;
  mutable absl::Mutex info_mu_;
  proto::NodeInfo info_ ABSL_GUARDED_BY(info_mu_);  // static fields; the pool has the rest
  // Where worker output goes: the head's LogBroker, known from Start() on (before any worker
  // exists). Shared with the publisher and its calls in flight, which may outlive the node.
  struct LogRoute {
    std::string node_id;
    std::unique_ptr<proto::LogBroker::Stub> stub;
  };
  static void PublishLogs(const std::shared_ptr<LogRoute>& route, proto::PublishLogsRequest request,
                          LogPublisher::Done done);
  const std::shared_ptr<LogRoute> log_route_;
  LogPublisher log_publisher_;
  WorkerOutputs outputs_;     // feeds log_publisher_
  WorkerPool pool_;           // hands its workers' pipes to outputs_
  CodeCache code_;            // the jobs' code libraries its workers load
  CallArchive call_archive_;  // the call logs of exited workers
  NodeManagerService service_;
  NodeLogsService logs_service_;
  // A rotated token: kept in the node's token files and handed to its workers.
  TokenHolderService token_holder_;
  std::unique_ptr<HeadLink> head_;  // set in Start(), before the pool opens
  FatalCallback on_fatal_;
  std::shared_ptr<HeartbeatSink> heartbeat_sink_;
  asio::steady_timer heartbeat_timer_;
  asio::steady_timer expiry_timer_;
  asio::steady_timer fence_timer_;
  // Expired once this node is gone. A timer's wait that completed before Stop cancelled it (or
  // the node was destroyed) still runs its handler, with no error, after: the raylet blocks its
  // loop while it retires a node (up to a second, as its server shuts down), the heartbeat
  // timer expires meanwhile, and its handler then ran on the freed node (a segfault on the
  // raylet's main thread just after "rejoining the head as a new node", 1 run in 15-25 of
  // PartitionTest.CallsInFlightEndWithinTheBoundAndTheHealedNodeRejoinsAsANewNode). Every
  // timer handler checks it first.
  const std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  absl::Duration heartbeat_period_;
  absl::Time last_head_contact_;
  SteadyTime last_contact_steady_;  // the same, on a clock that does not jump
  absl::Duration fence_after_;      // from the head's terms once registered (see AdoptTerms)
  std::string head_address_;
  std::string cluster_id_;            // from the head's terms
  absl::Duration head_lost_timeout_;  // from the head's terms (else the flag)
  bool probing_ = false;
  bool head_down_ = false;  // a probe found no head running; it has not answered since
  bool fenced_ = false;
  mutable absl::Mutex fence_mu_;
  SteadyTime fence_at_ ABSL_GUARDED_BY(fence_mu_);                 // when the node fences itself
  absl::Duration workers_fence_after_ ABSL_GUARDED_BY(fence_mu_);  // fence_after_, for ServeFor
  bool workers_fenced_ ABSL_GUARDED_BY(fence_mu_) = false;
};

}  // namespace weft::node
