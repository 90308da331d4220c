// weft-worker: a worker process, spawned by its node's weft-raylet. It serves its own gRPC
// port, tells the raylet where, and lives until told to exit or its raylet dies.

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>
#include <unistd.h>
#include "common/logging.h"

#include <CLI/CLI.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <cstdlib>

#include "common/rpc.h"
#include "common/status.h"
#include "node.grpc.pb.h"
#include "worker/worker_service.h"

namespace {

struct Flags {
  std::string worker_id;
  std::string node_id;
  std::string node_address;
  std::string host = "127.0.0.1";
  int lifeline_fd = -1;
};

// The raylet holds the only write end of the lifeline pipe: when it dies, however it dies,
// the read end reports EOF and `on_raylet_gone` runs.
void WatchLifeline(asio::posix::stream_descriptor& lifeline, std::function<void()> on_raylet_gone) {
  static char byte;
  lifeline.async_read_some(asio::buffer(&byte, 1),
                           [&lifeline, on_raylet_gone](const std::error_code& error, size_t) {
                             if (error == asio::error::operation_aborted) return;
                             if (!error) return WatchLifeline(lifeline, on_raylet_gone);
                             on_raylet_gone();
                           });
}

absl::Status RegisterWithNode(const Flags& flags, const std::string& token,
                              const std::string& address) {
  auto stub = weft::proto::NodeManager::NewStub(weft::MakeChannel(flags.node_address, token));
  grpc::ClientContext context;
  weft::SetTimeout(context, weft::kControlRpcTimeout);
  weft::proto::RegisterWorkerRequest request;
  request.set_worker_id(flags.worker_id);
  request.set_address(address);
  request.set_pid(getpid());
  weft::proto::RegisterWorkerReply reply;
  return weft::FromGrpcStatus(stub->RegisterWorker(&context, request, &reply));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-worker: hosts actors and tasks; started by weft-raylet"};
  Flags flags;
  app.add_option("--worker-id", flags.worker_id)->required();
  app.add_option("--node-id", flags.node_id)->required();
  app.add_option("--node-address", flags.node_address)->required();
  app.add_option("--host", flags.host);
  app.add_option("--lifeline-fd", flags.lifeline_fd, "Read end of the raylet's lifeline pipe")
      ->required();
  CLI11_PARSE(app, argc, argv);
  weft::InitLogging("worker");
  const char* token = std::getenv("WEFT_TOKEN");
  if (!token || !*token) {
    spdlog::error("WEFT_TOKEN is not set; workers are started by weft-raylet");
    return 2;
  }
  const weft::TokenAuth auth(token);

  asio::io_context io;
  auto work = asio::make_work_guard(io);
  int exit_code = 0;
  weft::worker::WorkerService service({flags.worker_id, flags.node_id}, auth, [&](int code) {
    asio::post(io, [&, code] {
      exit_code = code;
      io.stop();
    });
  });
  asio::posix::stream_descriptor lifeline(io, flags.lifeline_fd);
  WatchLifeline(lifeline, [&] {
    spdlog::warn("raylet is gone; worker exiting");
    io.stop();
  });
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const std::error_code& error, int signal) {
    if (!error) spdlog::info("worker stopping signal={}", signal);
    io.stop();
  });

  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a taken port is an error
  int port = 0;
  builder.AddListeningPort(weft::JoinHostPort(flags.host, 0), grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::error("cannot listen on {}", flags.host);
    return 1;
  }
  const std::string address = weft::JoinHostPort(weft::AdvertisedHost(flags.host), port);
  if (auto status = RegisterWithNode(flags, token, address); !status.ok()) {
    spdlog::error("cannot register with node {}: {}", flags.node_address, status.ToString());
    return 1;
  }
  spdlog::info("worker ready id={} address={}", flags.worker_id, address);
  io.run();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  spdlog::info("worker exiting id={} code={}", flags.worker_id, exit_code);
  return exit_code;
}
