#pragma once

#include <grpcpp/server.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/src/runtime.h"
#include "common/auth.h"
#include "common/connection_gate.h"
#include "worker/actor_host.h"
#include "worker/call_dispatcher.h"
#include "worker/code_loader.h"
#include "worker/object_store.h"
#include "worker/raylet_watch.h"
#include "worker/worker_service.h"

namespace weft::worker {

// One weft-worker process: serves its gRPC port, tells its raylet where, and runs an
// io_context until asked to exit (Exit RPC, SIGTERM/SIGINT) or its raylet dies.
class WorkerProcess {
 public:
  struct Options {
    std::string worker_id;
    std::string node_id;
    std::string node_address;  // the raylet's NodeManager, for RegisterWorker
    std::string head_address;  // for the object directory and the worker's own runtime
    std::string job_id;        // the job this worker serves; empty for a bare lease
    std::string host = "127.0.0.1";
    std::string advertise_host;  // empty: AdvertisedHost(host)
    int lifeline_fd = -1;        // read end of the raylet's lifeline pipe
    std::string token;
    // Stop when the raylet has not answered a CheckNode for this long (see RayletWatch);
    // zero: no watch.
    absl::Duration fence_after = absl::ZeroDuration();
    // The node's object store folder (common/store_budget); empty: an unbounded store.
    std::string object_store_dir;
  };

  explicit WorkerProcess(Options options);
  ~WorkerProcess();

  // Serves until told to stop; returns the process exit code.
  int Run();

 private:
  internal::Runtime::Config JobConfig() const;
  [[nodiscard]] absl::Status StartServer();
  // Registers with the raylet; returns how long this worker may serve without another answer.
  [[nodiscard]] absl::StatusOr<absl::Duration> RegisterWithNode() const;
  void WatchRaylet(absl::Duration serve_for, RayletWatch::Clock::time_point sent);
  void WatchLifeline();
  void RequestExit(int exit_code);
  void HandOverCallLog() const;

  const Options options_;
  const TokenAuth auth_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::posix::stream_descriptor lifeline_;
  asio::signal_set signals_;
  std::unique_ptr<RayletWatch> raylet_watch_;
  CodeLoader code_;
  std::unique_ptr<ObjectStore> store_;  // made by StartServer
  ActorHost actors_;
  std::unique_ptr<CallDispatcher> dispatcher_;  // made once the address is known
  std::unique_ptr<WorkerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ConnectionGate> gate_;  // accepts the server's connections (goes first)
  std::string address_;
  int exit_code_ = 0;
};

}  // namespace weft::worker
