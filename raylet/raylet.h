#pragma once

#include <grpcpp/server.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/auth.h"
#include "common/connection_gate.h"
#include "common/session_dir.h"
#include "common/transport_security.h"
#include "raylet/dashboard/dashboard.h"
#include "raylet/dashboard/node_metrics.h"
#include "raylet/head/head.h"
#include "raylet/node/head_link.h"
#include "raylet/node/node.h"
#include "raylet/raylet_options.h"

namespace weft {

// One weft-raylet process: a gRPC server hosting the head services (with --head) and/or a
// node, driven by one io_context that handles timers and signals.
//
// A node that fences itself (its head refused it or stopped acknowledging heartbeats; its
// workers are already killed) is retired with its server, and the raylet tries to rejoin the
// head as a new node (fresh id, same port, its address toward the head worked out again when
// no flag named it) until `head_lost_timeout` has passed since the head last answered; then it
// exits. The head's own node cannot rejoin: its raylet exits.
class Raylet {
 public:
  explicit Raylet(RayletOptions options);

  // Serves until SIGTERM/SIGINT (graceful: workers stopped, node unregistered), or until a
  // fenced node could not rejoin its head in time. OK after a requested shutdown.
  [[nodiscard]] absl::Status Run();

 private:
  // With --tls: this raylet's certificate (signed by the head's CA, or asked of the head with
  // the token) and the CA, written to the session's tls/ folder and used by every connection.
  // A node's: how to talk to its head (plaintext, TLS, mutual TLS with its given files),
  // learnt from the head before the token is sent.
  absl::StatusOr<TransportSecurity> HeadSecurity() const;
  // The files given (--tls-ca, --tls-cert, --tls-key), read: empty when none were.
  absl::StatusOr<TransportSecurity> GivenTlsFiles() const;
  // A head's given files, checked: the key is the certificate's, the CA signed it, it is valid
  // now and names the host where the head is reached.
  absl::StatusOr<TransportSecurity> OperatorTlsFiles() const;
  [[nodiscard]] absl::Status SetUpTls();
  // Stops accepting, then shuts the server down (its calls get until `deadline`).
  void StopServing(std::chrono::system_clock::time_point deadline);
  [[nodiscard]] absl::Status StartServer();
  // A head's dashboard, when asked for; a port it cannot have is a warning.
  void StartDashboard();
  // The node's /metrics, when asked for (before it registers: its record says where).
  void StartNodeMetrics();
  [[nodiscard]] absl::Status WriteSessionFiles();
  void SignalReady();
  void WaitForSignals();
  // Stops the raylet once options_.exit_with_pid ends (watched through a pidfd).
  [[nodiscard]] absl::Status WatchOwnerProcess();
  void ScheduleLivenessCheck();
  [[nodiscard]] absl::Status StartNode(absl::Duration register_wait);
  void OnNodeFenced(absl::Status why);
  void RetireAndRejoin();
  void RetireNode(const std::string& reason);
  void ScheduleRejoin(absl::Duration after);
  void TryRejoin();
  // A node whose address comes from its route toward the head works it out again (routes may
  // have changed while it was cut off), with a certificate for a new one under TLS.
  [[nodiscard]] absl::Status RouteTowardHeadAgain();
  void Stop(absl::Status why);
  void Shutdown();

  RayletOptions options_;  // `tls` settled at start (a node follows its head)
  // A node's: how it talks to its head, learnt with the head's proof (its CA, whether the
  // cluster is under mutual TLS, the node's own certificate when given). A head's: the
  // operator's CA and its certificate when given.
  TransportSecurity head_security_;
  const SessionDir session_;
  const TokenAuth auth_;
  asio::io_context io_;
  asio::signal_set signals_;
  std::unique_ptr<asio::posix::stream_descriptor> owner_process_;
  asio::steady_timer liveness_timer_;
  asio::steady_timer rejoin_timer_;
  std::unique_ptr<head::Head> head_;
  std::unique_ptr<dashboard::HeadMetrics> head_metrics_;  // a head's, timing its RPCs
  std::unique_ptr<dashboard::Dashboard> dashboard_;       // a head's, when it could bind its port
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<dashboard::NodeMetrics> node_metrics_;  // a node's, when it could bind its port
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ConnectionGate> gate_;  // accepts the server's connections (goes first)
  // A joining node's link to the head for the raylet's whole life. Its channel keeps gRPC's
  // shared callback queue open (see HoldCallbackQueue in raylet.cc), and rejoin attempts use it
  // rather than a channel each: one destroyed just as the retired node's last channel went on a
  // gRPC thread was seen to crash the raylet (SIGSEGV in grpc_channel_stack_destroy).
  std::unique_ptr<node::HeadLink> rejoin_link_;
  std::string address_;        // where others reach it: the advertised host and its port
  std::string local_address_;  // where this machine reaches it: its bind host (or loopback)
  std::string head_address_;   // a node's head; a head's own: local_address_
  std::string fenced_node_;    // id of the node retired last, while rejoining
  std::string fence_reason_;
  absl::Time give_up_at_;  // rejoining stops here: head_lost_timeout after the last contact
  int port_ = 0;           // the port listened on, once known
  int record_lock_ = -1;
  absl::Status exit_status_;
};

}  // namespace weft
