#pragma once

#include <grpcpp/server_builder.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/session_dir.h"
#include "raylet/node/head_link.h"
#include "raylet/node/node_service.h"
#include "raylet/node/worker_pool.h"
#include "raylet/raylet_options.h"

namespace weft::node {

// One node of the cluster: its worker pool, the NodeManager service, and the link to the
// head (registration, heartbeats, exit reports). Timers run on the raylet's io_context.
class Node {
 public:
  using FatalCallback = std::function<void(absl::Status)>;

  Node(asio::io_context& io, const RayletOptions& options, const TokenAuth& auth,
       const SessionDir& session);

  void AddServices(grpc::ServerBuilder& builder) { builder.RegisterService(&service_); }

  // Registers with the head at `head_address` and starts heartbeating. `on_fatal` runs on the
  // io_context when the node must stop: declared dead, or the head gone for too long.
  [[nodiscard]] absl::Status Start(const std::string& address, const std::string& head_address,
                                   FatalCallback on_fatal);

  // Reaps exited workers; call on SIGCHLD.
  void OnChildExited() { pool_.Reap(); }

  // Stops every worker (graceful, then forced) and says goodbye to the head.
  void Stop(const std::string& reason);

  proto::NodeInfo Info() const;
  const std::string& id() const { return info_.node_id(); }

 private:
  void ScheduleHeartbeat();
  void OnHeartbeatDone(absl::Status status);
  void ScheduleStartExpiry();

  asio::io_context& io_;
  const RayletOptions& options_;
  proto::NodeInfo info_;
  WorkerPool pool_;
  NodeManagerService service_;
  std::unique_ptr<HeadLink> head_;
  FatalCallback on_fatal_;
  asio::steady_timer heartbeat_timer_;
  asio::steady_timer expiry_timer_;
  absl::Duration heartbeat_period_;
  absl::Time last_head_contact_;
  // A heartbeat answer may arrive on a gRPC thread at any time; Stop() waits for it so the
  // answer never reaches a stopped io_context.
  absl::Mutex heartbeat_mu_;
  bool heartbeat_in_flight_ ABSL_GUARDED_BY(heartbeat_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(heartbeat_mu_) = false;
};

}  // namespace weft::node
