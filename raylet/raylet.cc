#include "raylet/raylet.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common.pb.h"
#include "common/connection_gate.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "common/rpc.h"
#include "common/transport_security.h"
#include "google/protobuf/util/json_util.h"
#include "head.grpc.pb.h"
#include "raylet/head/storage/table_store.h"
#include "raylet/raylet_flags.h"

namespace weft {
namespace {

// gRPC serves callback-API calls from one process-wide completion queue when its poller does
// not run in the background (1.51 on Linux). Every channel that made a callback call, and every
// callback server, holds a reference; the last to go shuts the queue down and joins its
// threads. A fenced node is retired with its server, its channels then held only by its calls
// still in flight (a worker exit report, a heartbeat): the last of those completed on one of
// the queue's own threads, which tried to join itself, and the raylet aborted ("assertion
// failed: prior > 0") or hung instead of rejoining. This channel makes one callback call and is
// held for the raylet's life, so the queue outlives every retired node.
std::shared_ptr<grpc::Channel> HoldCallbackQueue(const std::string& head_address,
                                                 const std::string& token) {
  auto channel = MakeChannel(head_address, token);
  auto stub = proto::NodeDirectory::NewStub(channel);
  CallAsync<proto::ListNodesReply>(
      ContextWithTimeout(kControlRpcTimeout), proto::ListNodesRequest(),
      [&stub](auto... args) { stub->async()->ListNodes(args...); },
      [](const absl::Status&, const proto::ListNodesReply&) {});  // only the reference counts
  return channel;
}

// The head's store at `path` (a file, or a redis:// URL); with `fresh`, what was there is first
// renamed aside (never deleted: a damaged store may still be worth reading).
absl::StatusOr<std::unique_ptr<head::TableStore>> OpenHeadStore(const std::string& path,
                                                                const std::string& password,
                                                                bool fresh,
                                                                head::RedisOwnership ownership) {
  if (path == "memory") return head::NewMemoryStore();
  if (absl::StartsWith(path, "redis://")) {
    return head::OpenRedisStore(path, password,
                                fresh ? std::to_string(absl::ToUnixSeconds(absl::Now())) : "",
                                std::move(ownership));
  }
  if (RecordLocked(path)) {  // not even to set it aside under a running head
    return absl::AlreadyExistsError(absl::StrCat("another head runs on the store ", path));
  }
  if (fresh && access(path.c_str(), F_OK) == 0) {
    const std::string aside = absl::StrCat(path, ".discarded-", absl::ToUnixSeconds(absl::Now()));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string from = path + suffix;
      if (access(from.c_str(), F_OK) == 0 && std::rename(from.c_str(), (aside + suffix).c_str())) {
        return absl::InternalError(
            absl::StrCat("cannot set ", from, " aside: ", std::strerror(errno)));
      }
    }
    spdlog::warn("stored head state set aside as {}; starting a new cluster", aside);
  }
  auto store = head::OpenSqliteStore(path);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat(store.status().message(),
                                     " (--fresh-state sets it aside and starts a new cluster)"));
  }
  return store;
}

}  // namespace

Raylet::Raylet(RayletOptions options)
    : options_(std::move(options)),
      session_(options_.session_dir),
      auth_(options_.token),
      signals_(io_),
      liveness_timer_(io_),
      rejoin_timer_(io_) {}

absl::Status Raylet::Run() {
  if (auto status = session_.Create(); !status.ok()) return status;
  // Installed before any worker starts, so no child exit goes unnoticed.
  signals_.add(SIGCHLD);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  std::signal(SIGPIPE, SIG_IGN);

  if (options_.head) {
    // Before opening, which makes the file: a store that was there must hold a cluster.
    const bool existed = !options_.fresh_state && options_.storage != "memory" &&
                         access(options_.storage.c_str(), F_OK) == 0;
    // A head whose Redis store another head took over stops (its exit status says why).
    head::RedisOwnership ownership{.session_dir = session_.root(),
                                   .on_lost = [this](absl::Status why) {
                                     asio::post(io_, [this, why = std::move(why)] { Stop(why); });
                                   }};
    auto store = OpenHeadStore(options_.storage, options_.storage_password, options_.fresh_state,
                               std::move(ownership));
    if (!store.ok()) return store.status();
    if (options_.storage != "memory" && !absl::StartsWith(options_.storage, "redis://")) {
      // One head per store file, whatever its session dir (held until this process exits).
      if (auto lock = LockFile(options_.storage); !lock.ok()) {
        return absl::AlreadyExistsError(
            absl::StrCat("another head runs on the store ", options_.storage));
      }
    }
    auto given = OperatorTlsFiles();
    if (!given.ok()) return given.status();
    head_security_ = *std::move(given);
    auto head = head::Head::Create(
        head::NodeDirectory::Options{.heartbeat_period = options_.heartbeat_period,
                                     .node_timeout = options_.node_timeout,
                                     .stall_threshold = options_.node_timeout / 2,
                                     .head_lost_timeout = options_.head_lost_timeout},
        auth_, options_.token, *std::move(store), existed,
        {.tls = options_.tls,
         .mutual = options_.mutual_tls,
         .operator_ca_pem = head_security_.ca_pem});
    if (!head.ok()) {
      return absl::Status(
          head.status().code(),
          absl::StrCat("cannot take over the cluster stored in ", options_.storage, ": ",
                       head.status().message(), " (--fresh-state starts a new cluster)"));
    }
    head_ = *std::move(head);
    head_metrics_ = std::make_unique<dashboard::HeadMetrics>();
    if (auto written = WriteTokenFile(session_.TokenPath(), options_.token); !written.ok()) {
      return written;
    }
    head_->KeepTokenIn(options_.token_files);
    head_->KeepCodeIn(session_.root() + "/job_code");
  }
  if (!options_.head) {
    // A node uses TLS when its head does (learnt with the head's proof of the token, before
    // the token is sent); it must when it or its head is beyond loopback, unless --insecure.
    auto security = HeadSecurity();
    if (!security.ok()) return security.status();
    if (!security->tls() && options_.tls) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the head at ", options_.head_address,
          " does not serve TLS, which this node needs (--tls, or a head or host beyond "
          "loopback); a head started with --insecure needs --insecure here too"));
    }
    head_security_ = *std::move(security);
    options_.tls = head_security_.tls();
    options_.mutual_tls = head_security_.mutual;
  }
  if (options_.tls) {
    if (auto status = SetUpTls(); !status.ok()) return status;
  } else {
    // A session that ran with TLS before: its CA would make the CLI and drivers here speak
    // TLS to this plaintext raylet.
    std::error_code ignored;
    std::filesystem::remove_all(session_.TlsDir(), ignored);
  }
  // Takes the stored cluster over once this process's connections are secured as the cluster's.
  if (head_) {
    if (auto recovered = head_->Recover(); !recovered.ok()) {
      return absl::Status(recovered.code(),
                          absl::StrCat("cannot take over the cluster stored in ", options_.storage,
                                       ": ", recovered.message()));
    }
  }
  if (options_.local_node) node_ = std::make_unique<node::Node>(io_, options_, auth_, session_);
  if (auto status = StartServer(); !status.ok()) return status;

  // The head's own node reaches it on this machine (issue 14).
  head_address_ = options_.head ? local_address_ : options_.head_address;
  if (!options_.head) {
    rejoin_link_ =
        std::make_unique<node::HeadLink>(HoldCallbackQueue(head_address_, options_.token));
  }
  if (node_) {
    if (auto status = StartNode(absl::Seconds(10)); !status.ok()) {
      StopServing(std::chrono::system_clock::now() + std::chrono::seconds(1));
      return status;
    }
  }
  if (head_) ScheduleLivenessCheck();
  if (head_) StartDashboard();
  if (auto status = WriteSessionFiles(); !status.ok()) {
    Shutdown();
    return status;
  }
  WaitForSignals();
  if (auto status = WatchOwnerProcess(); !status.ok()) {
    Shutdown();
    return status;
  }
  SignalReady();
  spdlog::info(
      "raylet ready address={} local_address={} head={} node={} session_dir={} dashboard={}",
      address_, local_address_, options_.head, node_ ? node_->id() : "none", session_.root(),
      dashboard_ ? dashboard_->url() : "none");
  io_.run();
  Shutdown();
  return exit_status_;
}

absl::Status Raylet::StartNode(absl::Duration register_wait) {
  auto on_fatal = [this](absl::Status why) { OnNodeFenced(std::move(why)); };
  StartNodeMetrics();
  return node_->Start(
      {.advertised = address_,
       .local = local_address_,
       .head = head_address_,
       .metrics =
           node_metrics_ ? JoinHostPort(options_.advertise_host, node_metrics_->port()) : ""},
      on_fatal, register_wait);
}

void Raylet::OnNodeFenced(absl::Status why) {
  if (options_.head) return Stop(std::move(why));  // no other head to rejoin
  // Another cluster's head, or another token: rejoining would be refused the same way.
  if (why.code() == absl::StatusCode::kPermissionDenied) return Stop(std::move(why));
  fenced_node_ = node_->id();
  fence_reason_ = std::string(why.message());
  give_up_at_ = node_->last_head_contact() + node_->head_lost_timeout();
  // Called from inside the node: retire it once its handler has returned.
  asio::post(io_, [this] { RetireAndRejoin(); });
}

void Raylet::RetireAndRejoin() {
  RetireNode(fence_reason_);
  spdlog::warn("rejoining the head as a new node old_node={} until={}", fenced_node_,
               absl::FormatTime(give_up_at_));
  ScheduleRejoin(absl::ZeroDuration());
}

// The node's services go with its server; the port stays, so that a new node can take it.
void Raylet::RetireNode(const std::string& reason) {
  node_metrics_.reset();
  node_->Stop(reason);
  StopServing(std::chrono::system_clock::now() + std::chrono::seconds(1));
  node_.reset();
}

void Raylet::ScheduleRejoin(absl::Duration after) {
  rejoin_timer_.expires_after(absl::ToChronoNanoseconds(after));
  rejoin_timer_.async_wait([this](const std::error_code& error) {
    if (!error) TryRejoin();
  });
}

void Raylet::TryRejoin() {
  if (absl::Now() > give_up_at_) {
    return Stop(absl::UnavailableError(
        absl::StrCat("could not rejoin head ", head_address_, " within --head-lost-timeout-ms (",
                     absl::FormatDuration(options_.head_lost_timeout), "); node ", fenced_node_,
                     " had fenced itself: ", fence_reason_)));
  }
  const absl::Duration retry = options_.heartbeat_period;
  // First the head learns that the old node's workers are gone (a no-op if it already
  // declared the node dead); this also shows whether the head answers at all.
  spdlog::warn("rejoin: telling the head that node {} is gone", fenced_node_);
  const absl::Status told =
      rejoin_link_->Unregister(fenced_node_, absl::StrCat("fenced: ", fence_reason_));
  if (!told.ok() && told.code() != absl::StatusCode::kNotFound) {
    spdlog::warn("head still unreachable; rejoin retries error=\"{}\"", told.message());
    return ScheduleRejoin(retry);
  }
  if (auto moved = RouteTowardHeadAgain(); !moved.ok()) {
    spdlog::warn("rejoin waits for a route toward the head error=\"{}\"", moved.message());
    return ScheduleRejoin(retry);
  }
  spdlog::warn("rejoin: the head answered ({}); serving and registering a new node",
               told.ok() ? "ok" : told.message());
  node_ = std::make_unique<node::Node>(io_, options_, auth_, session_);
  absl::Status joined = StartServer();
  if (joined.ok()) joined = StartNode(2 * options_.heartbeat_period);
  if (!joined.ok()) {
    spdlog::warn("rejoin failed; retrying error=\"{}\"", joined.message());
    StopServing(std::chrono::system_clock::now());
    node_.reset();
    return ScheduleRejoin(retry);
  }
  spdlog::info("node rejoined as a new node id={} old_node={}", node_->id(), fenced_node_);
  if (auto status = WriteSessionFiles(); !status.ok()) {
    spdlog::warn("cannot update the raylet record: {}", status.message());
  }
}

absl::Status Raylet::RouteTowardHeadAgain() {
  const std::string host = options_.host, advertised = options_.advertise_host;
  auto moved = FollowRouteTowardHead(options_);
  if (!moved.ok()) return moved.status();
  if (!*moved) return absl::OkStatus();
  spdlog::info("the route toward the head changed host={} advertise={} (were {} {})", options_.host,
               options_.advertise_host, host, advertised);
  // A certificate for the new address (the cluster's, asked of the head), or the given one
  // checked against it.
  absl::Status secured = options_.tls ? SetUpTls() : absl::OkStatus();
  if (!secured.ok()) {
    options_.host = host;  // tried again as moved at the next attempt
    options_.advertise_host = advertised;
  }
  return secured;
}

void Raylet::StopServing(std::chrono::system_clock::time_point deadline) {
  gate_.reset();  // first: the port is free again once this returns
  if (server_) server_->Shutdown(deadline);
  server_.reset();
}

absl::Status Raylet::StartServer() {
  grpc::ServerBuilder builder;
  ConfigureServer(builder);
  ConnectionLimits limits{.max_connections = options_.max_connections,
                          .max_per_peer = options_.max_connections_per_peer};
  if (head_) {
    // Keepalive pings to every client: a driver's job stream (KeepJob) ends within about
    // node_timeout when its host goes silent; a driver that exits closes it at once.
    const int half =
        static_cast<int>(absl::ToInt64Milliseconds(head_->node_options().node_timeout / 2));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, half);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, half);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    limits.tcp_user_timeout_ms = half;
  }
  // Weft accepts the connections, so that a flood can neither use up the files nor keep other
  // hosts out (ConnectionGate); a port in use is an error.
  auto gate = ConnectionGate::Listen(options_.host, port_ ? port_ : options_.port, builder,
                                     CurrentServerCredentials(), limits);
  if (!gate.ok()) return gate.status();
  const int port = (*gate)->port();
  if (head_) {
    head_->AddServices(builder);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> timers;
    timers.push_back(head_metrics_->RpcTimer());
    builder.experimental().SetInterceptorCreators(std::move(timers));
  }
  if (node_) node_->AddServices(builder);
  server_ = builder.BuildAndStart();
  if (!server_) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve on ", JoinHostPort(options_.host, port)));
  }
  gate_ = *std::move(gate);
  gate_->Open();
  address_ = JoinHostPort(options_.advertise_host, port);
  local_address_ = JoinHostPort(LocalDialHost(options_.host), port);
  // What this process itself calls at its advertised address (the head its own node) stays on
  // this machine.
  SetLocalRoute(address_, local_address_);
  port_ = port;  // a node that rejoins listens here again
  return absl::OkStatus();
}

absl::Status Raylet::WriteSessionFiles() {
  // The CLI and drivers of this machine dial a head of this session where it listens; drivers
  // serve their objects toward where others reach it (see ClusterEndpoint).
  if (head_) {
    auto status = WriteFileAtomic(session_.HeadAddressPath(), local_address_ + "\n");
    if (status.ok()) {
      status = WriteFileAtomic(session_.HeadAdvertisedAddressPath(), address_ + "\n");
    }
    if (!status.ok()) return status;
  } else if (!options_.head_address.empty()) {
    auto status = WriteFileAtomic(session_.HeadAddressPath(), options_.head_address + "\n");
    if (!status.ok()) return status;
    std::remove(session_.HeadAdvertisedAddressPath().c_str());  // a head's of this dir before
  }
  proto::NodeInfo record = node_ ? node_->Info() : proto::NodeInfo();
  record.set_address(address_);
  record.set_is_head(options_.head);
  record.set_raylet_pid(getpid());
  record.set_session_dir(session_.root());
  std::string json;
  google::protobuf::util::MessageToJsonString(record, &json);
  auto lock = session_.WriteRayletRecord(getpid(), json + "\n");
  if (!lock.ok()) return lock.status();
  if (record_lock_ >= 0) close(record_lock_);  // the replaced record's
  record_lock_ = *lock;  // held until exit: weft stop trusts only locked records
  return absl::OkStatus();
}

void Raylet::SignalReady() {
  if (options_.ready_fd < 0) return;
  const std::string line = address_ + "\n";
  ssize_t written;
  do {
    written = write(options_.ready_fd, line.data(), line.size());
  } while (written < 0 && errno == EINTR);  // asio's signal handlers do not restart syscalls
  if (written < 0) spdlog::warn("cannot write to ready fd={}", options_.ready_fd);
  close(options_.ready_fd);
}

void Raylet::WaitForSignals() {
  signals_.async_wait([this](const std::error_code& error, int signal) {
    if (error) return;
    if (signal == SIGCHLD) {
      if (node_) node_->OnChildExited();
      WaitForSignals();
      return;
    }
    spdlog::info("raylet stopping signal={}", signal);
    Stop(absl::OkStatus());
  });
}

absl::Status Raylet::WatchOwnerProcess() {
  if (options_.exit_with_pid <= 0) return absl::OkStatus();
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, options_.exit_with_pid, 0));
  if (pidfd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--exit-with-pid ", options_.exit_with_pid, ": ", std::strerror(errno)));
  }
  owner_process_ = std::make_unique<asio::posix::stream_descriptor>(io_, pidfd);
  owner_process_->async_wait(asio::posix::stream_descriptor::wait_read,
                             [this](const std::error_code& error) {
                               if (error) return;
                               spdlog::info("raylet stopping: process {} it was started for ended",
                                            options_.exit_with_pid);
                               Stop(absl::OkStatus());
                             });
  return absl::OkStatus();
}

void Raylet::ScheduleLivenessCheck() {
  // The cluster's period (a head that took a cluster over keeps its stored terms).
  liveness_timer_.expires_after(
      absl::ToChronoMilliseconds(head_->node_options().heartbeat_period / 2));
  liveness_timer_.async_wait([this](const std::error_code& error) {
    if (error) return;
    head_->CheckLiveness();
    ScheduleLivenessCheck();
  });
}

void Raylet::Stop(absl::Status why) {
  exit_status_ = std::move(why);
  rejoin_timer_.cancel();
  io_.stop();
}

void Raylet::Shutdown() {
  dashboard_.reset();  // first: its requests call the services stopped below
  node_metrics_.reset();
  if (head_) std::remove(session_.DashboardUrlPath().c_str());
  if (node_) {
    node_->Stop(exit_status_.ok() ? "raylet stopped" : std::string(exit_status_.message()));
  }
  if (head_) {
    head_->CancelLeases();
    head_->CloseLogStreams();
  }
  StopServing(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::remove(session_.RayletRecordPath(getpid()).c_str());
  spdlog::info("raylet stopped status=\"{}\"", exit_status_.ToString());
}

}  // namespace weft
