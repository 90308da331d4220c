#pragma once

#include <grpcpp/server.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/auth.h"
#include "common/session_dir.h"
#include "raylet/head/head.h"
#include "raylet/node/node.h"
#include "raylet/raylet_options.h"

namespace weft {

// One weft-raylet process: a gRPC server hosting the head services (with --head) and/or a
// node, driven by one io_context that handles timers and signals.
class Raylet {
 public:
  explicit Raylet(RayletOptions options);

  // Serves until SIGTERM/SIGINT (graceful: workers stopped, node unregistered), or until the
  // node is declared dead or loses its head. OK after a requested shutdown.
  [[nodiscard]] absl::Status Run();

 private:
  [[nodiscard]] absl::Status StartServer();
  [[nodiscard]] absl::Status WriteSessionFiles();
  void SignalReady();
  void WaitForSignals();
  void ScheduleLivenessCheck();
  void Stop(absl::Status why);
  void Shutdown();

  const RayletOptions options_;
  const SessionDir session_;
  const TokenAuth auth_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer liveness_timer_;
  std::unique_ptr<head::Head> head_;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  int record_lock_ = -1;
  absl::Status exit_status_;
};

}  // namespace weft
