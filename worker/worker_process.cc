#include "worker/worker_process.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "client/src/blocking_scope.h"
#include "client/src/runtime.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/token_holder.h"
#include "common/transport_security.h"
#include "head.grpc.pb.h"
#include "log.grpc.pb.h"
#include "node.grpc.pb.h"

namespace weft::worker {
namespace {

// Exit code of a worker that stopped itself because its raylet stopped answering.
constexpr int kFencedExitCode = 3;

// Ends this worker at once, without draining calls: a fenced worker must not answer another.
[[noreturn]] void Fence(const std::string& worker_id, const std::string& why) {
  spdlog::error("fencing: worker exiting id={} reason=\"{}\"", worker_id, why);
  spdlog::default_logger()->flush();
  _exit(kFencedExitCode);
}

}  // namespace

WorkerProcess::WorkerProcess(Options options)
    : options_(std::move(options)),
      auth_(options_.token),
      work_(asio::make_work_guard(io_)),
      lifeline_(io_),
      signals_(io_, SIGTERM, SIGINT),
      code_(options_.node_address, options_.token),
      actors_(code_) {
  internal::Runtime::Install(std::make_unique<internal::Runtime>(JobConfig()));
  internal::BlockingScope::ConfigureWorker(options_.node_address, options_.worker_id,
                                           options_.token);
}

// The worker's runtime acts for its job: actors and tasks created and submitted from here
// belong to it (its id, namespace and code libraries, as the driver registered them).
internal::Runtime::Config WorkerProcess::JobConfig() const {
  internal::Runtime::Config config;
  config.head_address = options_.head_address;
  config.token = options_.token;
  config.job_id = options_.job_id;
  config.worker_id = options_.worker_id;
  config.node_id = options_.node_id;
  if (!options_.object_store_dir.empty()) {  // <session>/objects/<node_id>
    config.objects_dir = std::filesystem::path(options_.object_store_dir).parent_path();
  }
  if (options_.job_id.empty()) return config;
  auto jobs = proto::JobRegistry::NewStub(MakeChannel(options_.head_address, options_.token));
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::GetJobRequest request;
  request.set_job_id(options_.job_id);
  proto::GetJobReply reply;
  if (auto status = FromGrpcStatus(jobs->GetJob(&context, request, &reply)); !status.ok()) {
    spdlog::warn("cannot read job={} from the head: {}", options_.job_id, status.message());
    return config;
  }
  if (!reply.job().namespace_().empty()) config.ns = reply.job().namespace_();
  config.code = reply.job().code();
  return config;
}

WorkerProcess::~WorkerProcess() {
  gate_.reset();
  server_.reset();
  dispatcher_.reset();
  internal::Runtime::Uninstall();
}

int WorkerProcess::Run() {
  std::error_code no_lifeline;
  lifeline_.assign(options_.lifeline_fd, no_lifeline);
  if (no_lifeline) {
    spdlog::error("no lifeline at fd {}: {}", options_.lifeline_fd, no_lifeline.message());
    return 2;
  }
  WatchLifeline();
  signals_.async_wait([this](const std::error_code& error, int signal) {
    if (!error) spdlog::info("worker stopping signal={}", signal);
    io_.stop();
  });
  if (auto status = StartServer(); !status.ok()) {
    spdlog::error("{}", status.message());
    return 1;
  }
  const auto sent = RayletWatch::Clock::now();
  auto serve_for = RegisterWithNode();
  if (!serve_for.ok() && options_.fence_after > absl::ZeroDuration() &&
      serve_for.status().code() == absl::StatusCode::kDeadlineExceeded) {
    Fence(options_.worker_id,
          "its raylet did not answer its registration before the node's "
          "fencing deadline");
  }
  if (!serve_for.ok()) {
    spdlog::error("cannot register with node {}: {}", options_.node_address,
                  serve_for.status().ToString());
    return 1;
  }
  WatchRaylet(*serve_for, sent);
  spdlog::info("worker ready id={} address={}", options_.worker_id, address_);
  io_.run();
  HandOverCallLog();
  gate_.reset();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  spdlog::info("worker exiting id={} code={}", options_.worker_id, exit_code_);
  return exit_code_;
}

// A worker leaving gracefully hands its call log to its node, so that a timeline taken after
// its job ended still shows what it ran. Best effort and short: the node may be going too.
void WorkerProcess::HandOverCallLog() const {
  proto::KeepCallLogRequest request;
  *request.mutable_calls() = dispatcher_->log().Events();
  if (request.calls().events().empty()) return;
  request.set_worker_id(options_.worker_id);
  auto stub = proto::NodeLogs::NewStub(MakeChannel(options_.node_address, options_.token));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(1));
  proto::KeepCallLogReply reply;
  if (auto status = FromGrpcStatus(stub->KeepCallLog(&context, request, &reply)); !status.ok()) {
    spdlog::warn("cannot hand the call log to node {}: {}", options_.node_address,
                 status.ToString());
  }
}

absl::Status WorkerProcess::StartServer() {
  // The port is picked first: the dispatcher hands out this address in object locations.
  auto acceptor = std::make_unique<grpc::ServerBuilder>();
  ConfigureServer(*acceptor);
  auto gate = ConnectionGate::Listen(options_.host, 0, *acceptor, CurrentServerCredentials());
  if (!gate.ok()) return gate.status();
  const int port = (*gate)->port();
  std::unique_ptr<StoreBudget> budget;
  if (!options_.object_store_dir.empty()) {
    auto joined = StoreBudget::Join(options_.object_store_dir, options_.worker_id);
    if (!joined.ok()) return joined.status();
    budget = *std::move(joined);
  }
  store_ = std::make_unique<ObjectStore>(std::move(budget));
  dispatcher_ = std::make_unique<CallDispatcher>(
      CallDispatcher::Identity{options_.worker_id, options_.node_id, ""}, actors_, code_, *store_,
      proto::ObjectDirectory::NewStub(internal::Runtime::Get().head_channel()),
      internal::kInlineValueBytes);
  service_ =
      std::make_unique<WorkerService>(WorkerService::Identity{options_.worker_id, options_.node_id},
                                      auth_, WorkerService::Parts{actors_, *dispatcher_, *store_},
                                      [this](int code) { RequestExit(code); });
  acceptor->RegisterService(service_.get());
  acceptor->RegisterService(internal::Runtime::Get().owner_service());
  acceptor->RegisterService(internal::Runtime::Get().token_holder());
  // An object this worker owned that goes (its last borrower let go, its last call returned)
  // may be what kept a retired worker here. The runtime goes before the service (see ~).
  internal::Runtime::Get().objects().set_on_erased([this] { service_->MaybeLeave(); });
  server_ = acceptor->BuildAndStart();
  if (!server_) return absl::UnavailableError(absl::StrCat("cannot serve on ", options_.host));
  gate_ = *std::move(gate);
  gate_->Open();
  address_ = JoinHostPort(
      options_.advertise_host.empty() ? AdvertisedHost(options_.host) : options_.advertise_host,
      port);
  dispatcher_->set_address(address_);  // before anyone learns the address (RegisterWithNode)
  internal::Runtime::Get().set_own_address(address_);
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> WorkerProcess::RegisterWithNode() const {
  auto stub = proto::NodeManager::NewStub(MakeChannel(options_.node_address, options_.token));
  grpc::ClientContext context;
  // The registration is the first check of the raylet (see WatchRaylet): bound by the same
  // fencing deadline. The raylet may already have handed this worker out in a lease.
  SetTimeout(context,
             options_.fence_after > absl::ZeroDuration()
                 ? std::min(kControlRpcTimeout, absl::ToChronoMilliseconds(options_.fence_after))
                 : kControlRpcTimeout);
  proto::RegisterWorkerRequest request;
  request.set_worker_id(options_.worker_id);
  request.set_address(address_);
  request.set_pid(getpid());
  proto::RegisterWorkerReply reply;
  const auto status = FromGrpcStatus(stub->RegisterWorker(&context, request, &reply));
  if (!status.ok()) return status;
  if (reply.has_token_rotation()) {  // the node took a rotated token as it started this worker
    auto adopted = AdoptTokenRotation(TokenStateOf(options_.token).token,
                                      RotationFrom(reply.token_rotation()));
    if (!adopted.ok())
      spdlog::error("cannot take the rotated token: {}", adopted.status().message());
  }
  return absl::Milliseconds(reply.serve_for_ms());
}

// Fencing: a raylet that stops answering (stopped, not dead) cannot stop this worker, so the
// worker stops itself no later than the node would have (see RayletWatch). It exits at once,
// without draining calls: a fenced worker must not answer another one.
void WorkerProcess::WatchRaylet(absl::Duration serve_for, RayletWatch::Clock::time_point sent) {
  if (options_.fence_after <= absl::ZeroDuration()) return;
  raylet_watch_ = std::make_unique<RayletWatch>(
      io_, MakeChannel(options_.node_address, options_.token), options_.worker_id,
      options_.fence_after, [id = options_.worker_id](const std::string& why) { Fence(id, why); });
  raylet_watch_->Start(sent, serve_for);
}

// The raylet holds the only write end of the lifeline pipe: when it dies, however it dies,
// the read end reports EOF and this worker exits at once, as a fenced one does: its node is
// (or is about to be) declared dead and its actors restarted elsewhere, so it must not answer
// another call, not even one already running (a raylet that stops gracefully has stopped its
// workers before it exits).
void WorkerProcess::WatchLifeline() {
  static char byte;
  lifeline_.async_read_some(asio::buffer(&byte, 1), [this](const std::error_code& error, size_t) {
    if (error == asio::error::operation_aborted) return;
    if (!error) return WatchLifeline();
    Fence(options_.worker_id, "its raylet is gone");
  });
}

void WorkerProcess::RequestExit(int exit_code) {
  asio::post(io_, [this, exit_code] {
    exit_code_ = exit_code;
    io_.stop();
  });
}

}  // namespace weft::worker
