#include "raylet/node/node.h"

#include <unistd.h>

#include <asio/post.hpp>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/fence_rule.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "raylet/node/driver_stage.h"

namespace weft::node {
namespace {

// Deadline of one PublishLogs call; a publish that fails is retried by the LogPublisher.
constexpr std::chrono::seconds kPublishTimeout{2};

proto::NodeInfo MakeNodeInfo(const std::string& id, const RayletOptions& options,
                             const SessionDir& session) {
  proto::NodeInfo info;
  info.set_node_id(id);
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  info.set_hostname(hostname);
  info.set_is_head(options.head);
  info.set_raylet_pid(getpid());
  info.set_session_dir(session.root());
  info.mutable_total()->insert(options.resources.begin(), options.resources.end());
  return info;
}

std::unique_ptr<StoreBudget> CreateStore(const std::string& dir, int64_t capacity,
                                         absl::Status* status) {
  auto store = StoreBudget::Create(dir, capacity > 0 ? capacity : StoreBudget::DefaultCapacity());
  if (!store.ok()) {
    *status = absl::UnavailableError(
        absl::StrCat("cannot create the node's object store: ", store.status().message()));
    return nullptr;
  }
  return *std::move(store);
}

}  // namespace

Node::Node(asio::io_context& io, const RayletOptions& options, const TokenAuth& auth,
           const SessionDir& session)
    : options_(options),
      id_(NewNodeId()),
      store_dir_(absl::StrCat(session.root(), "/objects/", id_)),
      store_(CreateStore(store_dir_, options.object_store_memory, &store_status_)),
      info_(MakeNodeInfo(id_, options, session)),
      log_route_(std::make_shared<LogRoute>(LogRoute{id_, nullptr})),
      log_publisher_(
          io, LogPublisher::Options(),
          [route = log_route_](proto::PublishLogsRequest request, LogPublisher::Done done) {
            PublishLogs(route, std::move(request), std::move(done));
          }),
      outputs_(io, [this](proto::LogLine line) { log_publisher_.Add(std::move(line)); }),
      pool_(WorkerPool::Options{.worker_binary = options.worker_binary,
                                .node_id = id_,
                                .worker_host = options.host,
                                .worker_advertise_host = options.advertise_host,
                                .logs_dir = session.LogsDir(),
                                .token = options.token,
                                .tls_dir = options.tls ? session.TlsDir() : std::string(),
                                .tls_mutual = options.tls && options.mutual_tls,
                                .capacity = options.resources,
                                // The head's own node: no watch (see the class comment).
                                .fence_after = options.head ? absl::ZeroDuration()
                                                            : FenceAfter(options.node_timeout,
                                                                         options.heartbeat_period),
                                .object_store_dir = store_ ? store_dir_ : std::string(),
                                .watch_output =
                                    [this](const proto::WorkerInfo& worker, int out, int err) {
                                      outputs_.Watch(worker, out, err, OutputOptionsOf(worker));
                                    },
                                .driver_guard = options.driver_guard},
            [this](const proto::WorkerInfo& worker) { OnWorkerExit(worker); }),
      code_(session.root() + "/code", options.token),
      service_(
          pool_, code_, auth, options.token, [this] { return Info(); },
          [this] { return ServeFor(); }, session.root() + "/jobs", &call_archive_),
      logs_service_(outputs_, log_publisher_, pool_, call_archive_, auth),
      token_holder_(auth,
                    [this](const std::string& from, const TokenRotation& rotation) {
                      return HandTokenOn(from, rotation);
                    }),
      heartbeat_sink_(std::make_shared<HeartbeatSink>()),
      heartbeat_timer_(io),
      expiry_timer_(io),
      fence_timer_(io),
      fence_after_(FenceAfter(options.node_timeout, options.heartbeat_period)),
      head_lost_timeout_(options.head_lost_timeout),
      fence_at_(std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(fence_after_)),
      workers_fence_after_(fence_after_) {
  absl::MutexLock lock(&heartbeat_sink_->mu);
  heartbeat_sink_->io = &io;
  heartbeat_sink_->deliver = [this](absl::Status status, SteadyTime sent) {
    OnHeartbeatDone(status, sent);
  };
  heartbeat_sink_->probed = [this](bool refused, SteadyTime sent) { OnProbed(refused, sent); };
}

Node::~Node() {
  absl::MutexLock lock(&heartbeat_sink_->mu);
  heartbeat_sink_->io = nullptr;
}

absl::Status Node::Start(const Addresses& at, FatalCallback on_fatal,
                         absl::Duration register_wait) {
  if (!store_status_.ok()) return store_status_;
  const std::string& head_address = at.head;
  {
    absl::MutexLock lock(&info_mu_);
    info_.set_address(at.advertised);
    info_.set_head_address(head_address);
    info_.set_metrics_address(at.metrics);
  }
  on_fatal_ = std::move(on_fatal);
  head_address_ = head_address;
  head_ = std::make_unique<HeadLink>(head_address, options_.token);
  log_route_->stub = proto::LogBroker::NewStub(MakeChannel(head_address, options_.token));
  code_.Open(head_address);
  pool_.Open(at.local, head_address);  // before registering: the head may lease at once
  const SteadyTime sent = std::chrono::steady_clock::now();
  auto terms = head_->Register(Info(), register_wait);
  if (!terms.ok()) {
    pool_.Close();
    return absl::Status(
        terms.status().code(),
        absl::StrCat("cannot register with head ", head_address, ": ", terms.status().message()));
  }
  AdoptTerms(*terms, sent);
  last_head_contact_ = absl::Now();
  last_contact_steady_ = std::chrono::steady_clock::now();
  spdlog::info("node registered id={} head={} resources=\"{}\" fence_after={}", id_, head_address,
               FormatResources(options_.resources), absl::FormatDuration(fence_after_));
  ArmFence(sent + absl::ToChronoNanoseconds(fence_after_));
  ScheduleHeartbeat();
  ScheduleStartExpiry();
  return absl::OkStatus();
}

// The head's heartbeat period and node timeout rule this node's heartbeats and fence, whatever
// flags the node was started with: a node that fenced later than the head's verdict would let
// two copies of an actor serve at once.
void Node::AdoptTerms(const HeadLink::Terms& terms, SteadyTime sent) {
  heartbeat_period_ = terms.heartbeat_period > absl::ZeroDuration() ? terms.heartbeat_period
                                                                    : options_.heartbeat_period;
  const absl::Duration node_timeout =
      terms.node_timeout > absl::ZeroDuration() ? terms.node_timeout : options_.node_timeout;
  if (node_timeout != options_.node_timeout) {
    spdlog::info("node uses the head's node timeout head={} flag={}",
                 absl::FormatDuration(node_timeout), absl::FormatDuration(options_.node_timeout));
  }
  fence_after_ = FenceAfter(node_timeout, heartbeat_period_);
  cluster_id_ = terms.cluster_id;
  head_lost_timeout_ = terms.head_lost_timeout > absl::ZeroDuration() ? terms.head_lost_timeout
                                                                      : options_.head_lost_timeout;
  if (options_.head) return;
  pool_.SetFenceAfter(fence_after_);
  absl::MutexLock lock(&fence_mu_);
  fence_at_ = sent + absl::ToChronoNanoseconds(fence_after_);
  workers_fence_after_ = fence_after_;
}

void Node::ScheduleHeartbeat() {
  heartbeat_timer_.expires_after(absl::ToChronoMilliseconds(heartbeat_period_));
  heartbeat_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](std::error_code error) {
    if (error || alive.expired()) return;
    if (store_) store_->RemoveAbandonedSharedFolders();  // of drivers that have ended
    const WorkerPool::Snapshot now = pool_.Current();
    proto::HeartbeatRequest request;
    request.set_node_id(id_);
    proto::NodeInfo info = InfoAt(now);
    *request.mutable_available() = std::move(*info.mutable_available());
    request.set_num_workers(now.alive);
    request.set_resource_version(now.version);
    request.set_cluster_id(cluster_id_);
    *request.mutable_object_store() = std::move(*info.mutable_object_store());
    const auto deadline = std::min(absl::Seconds(2), 4 * heartbeat_period_);
    const SteadyTime sent = std::chrono::steady_clock::now();
    head_->Heartbeat(request, deadline, [sink = heartbeat_sink_, sent](absl::Status status) {
      absl::MutexLock lock(&sink->mu);
      if (!sink->io) return;  // the node has stopped
      // Asked again when it runs: a node retired meanwhile (on this io_context) is gone.
      asio::post(*sink->io, [sink, status, sent] {
        std::function<void(absl::Status, SteadyTime)> deliver;
        {
          absl::MutexLock lock(&sink->mu);
          if (!sink->io) return;
          deliver = sink->deliver;
        }
        deliver(status, sent);
      });
    });
  });
}

void Node::OnHeartbeatDone(const absl::Status& status, SteadyTime sent) {
  if (fenced_) return;
  if (status.ok()) {
    if (std::exchange(head_down_, false)) {
      spdlog::info("head {} answers again after {}; node {} carries on", head_address_,
                   absl::FormatDuration(absl::Now() - last_head_contact_), id_);
    }
    last_head_contact_ = absl::Now();
    last_contact_steady_ = std::chrono::steady_clock::now();
    ArmFence(sent + absl::ToChronoNanoseconds(fence_after_));
    head_->ResendWorkerExits();  // those the head missed while it was down
  } else if (status.code() == absl::StatusCode::kFailedPrecondition ||
             status.code() == absl::StatusCode::kNotFound) {
    Fence(absl::StrCat("head refused node ", id_, ": ", status.message()));
    return;
  } else if (status.code() == absl::StatusCode::kUnauthenticated &&
             NewerTokenKnown(options_.token)) {
    // A head started again during a token rotation's grace knows only the new token: send it.
    spdlog::warn("head {} refuses the old token; sending the new one now", head_address_);
    SendNewestTokensNow();
  } else if (status.code() == absl::StatusCode::kPermissionDenied ||
             status.code() == absl::StatusCode::kUnauthenticated) {
    Fence(absl::StrCat("head ", head_address_, " refuses node ", id_, ": ", status.message(),
                       status.code() == absl::StatusCode::kUnauthenticated
                           ? " (was the head restarted with another token?)"
                           : ""),
          absl::StatusCode::kPermissionDenied);
    return;
  } else {
    if (!head_down_) spdlog::warn("heartbeat failed node={} error=\"{}\"", id_, status.message());
    ProbeHead(sent);
  }
  ScheduleHeartbeat();
}

void Node::ProbeHead(SteadyTime sent) {
  if (options_.head || std::exchange(probing_, true)) return;
  std::thread([sink = heartbeat_sink_, address = head_address_, sent] {
    const bool refused = ConnectionRefused(address, std::chrono::seconds(1));
    absl::MutexLock lock(&sink->mu);
    if (!sink->io) return;  // the node has stopped
    asio::post(*sink->io, [sink, refused, sent] {
      std::function<void(bool, SteadyTime)> probed;
      {
        absl::MutexLock lock(&sink->mu);
        if (!sink->io) return;  // retired meanwhile
        probed = sink->probed;
      }
      probed(refused, sent);
    });
  }).detach();
}

// No head runs at the address (sure only of the moment the probe was sent or later): no head
// can declare this node dead before a new one starts and waits Head::kRecoveryGrace (longer
// than the node timeout) for it, so the fence moves as an acknowledged heartbeat would move it.
void Node::OnProbed(bool refused, SteadyTime sent) {
  probing_ = false;
  if (fenced_ || !refused) return;
  const absl::Duration down =
      absl::FromChrono(std::chrono::steady_clock::now() - last_contact_steady_);
  if (down > head_lost_timeout_) {
    return Fence(absl::StrCat("head ", head_address_, " has been down for ",
                              absl::FormatDuration(down), " (its --head-lost-timeout-ms)"));
  }
  if (!std::exchange(head_down_, true)) {
    spdlog::warn(
        "head {} is down (connection refused); node {} keeps its workers and waits for "
        "it up to {} after it last answered",
        head_address_, id_, absl::FormatDuration(head_lost_timeout_));
  }
  ArmFence(sent + absl::ToChronoNanoseconds(fence_after_));
}

// Heartbeats are acknowledged in send order or not at all, so a later `at` never moves the
// deadline back; it is kept monotonic anyway.
void Node::ArmFence(SteadyTime at) {
  if (options_.head) return;  // never cut off from its head: the head's stall credit applies
  {
    absl::MutexLock lock(&fence_mu_);
    if (at < fence_at_) return;
    fence_at_ = at;
  }
  fence_timer_.expires_at(at);
  fence_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](std::error_code error) {
    if (error || alive.expired()) return;
    {
      // A wait that had expired already when an acknowledgement moved the deadline on cannot
      // be cancelled: it completes without error, and the newer wait stays pending.
      absl::MutexLock lock(&fence_mu_);
      if (std::chrono::steady_clock::now() < fence_at_) return;
    }
    Fence(absl::StrCat("no heartbeat acknowledged by the head for ",
                       absl::FormatDuration(fence_after_)));
  });
}

void Node::Fence(const std::string& reason, absl::StatusCode code) {
  if (fenced_) return;
  fenced_ = true;
  {
    absl::MutexLock lock(&fence_mu_);
    workers_fenced_ = true;
  }
  heartbeat_timer_.cancel();
  fence_timer_.cancel();
  code_.Close();  // a worker waiting for a library is answered now, not after the server stops
  pool_.Close();
  const size_t killed = pool_.KillAll();
  spdlog::error("node fenced id={} workers_killed={} reason=\"{}\"", id_, killed, reason);
  on_fatal_(absl::Status(code, absl::StrCat("node ", id_, " fenced: ", reason)));
}

absl::Duration Node::ServeFor() const {
  if (options_.head) return absl::InfiniteDuration();  // its workers run no watch
  absl::MutexLock lock(&fence_mu_);
  if (workers_fenced_) return absl::ZeroDuration();
  return WorkerServeFor(absl::FromChrono(fence_at_ - std::chrono::steady_clock::now()),
                        workers_fence_after_);
}

void Node::ScheduleStartExpiry() {
  expiry_timer_.expires_after(std::chrono::seconds(1));
  expiry_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](std::error_code error) {
    if (error || alive.expired()) return;
    pool_.ExpireStarts();
    ScheduleStartExpiry();
  });
}

void Node::Stop(const std::string& reason) {
  {
    absl::MutexLock lock(&heartbeat_sink_->mu);
    heartbeat_sink_->io = nullptr;
  }
  heartbeat_timer_.cancel();
  expiry_timer_.cancel();
  fence_timer_.cancel();
  code_.Close();  // a worker waiting for a library is answered now, not after the server stops
  pool_.Close();
  // Leave the cluster first, so no lease is placed here while the workers drain.
  if (head_ && !fenced_) {
    if (auto status = head_->Unregister(id_, reason); !status.ok()) {
      spdlog::warn("could not unregister node={} error=\"{}\"", id_, status.message());
    }
  }
  pool_.TerminateAll(options_.shutdown_grace, [this] { outputs_.DrainNow(); });
  outputs_.DrainNow();  // what the workers wrote last
  if (log_route_->stub) {
    if (auto status = log_publisher_.FlushAndWait(absl::Seconds(1)); !status.ok()) {
      spdlog::warn("last worker output not published node={} error=\"{}\"", id_, status.message());
    }
  }
}

void Node::PublishLogs(const std::shared_ptr<LogRoute>& route, proto::PublishLogsRequest request,
                       LogPublisher::Done done) {
  if (!route->stub) {
    done(absl::FailedPreconditionError("node has not joined a head yet"));
    return;
  }
  request.set_node_id(route->node_id);
  CallAsync<proto::PublishLogsReply>(
      ContextWithTimeout(kPublishTimeout), std::move(request),
      [&route](auto... args) { route->stub->async()->PublishLogs(args...); },
      [route, done = std::move(done)](const absl::Status& status, const proto::PublishLogsReply&) {
        done(status);
      });
}

OutputOptions Node::OutputOptionsOf(const proto::WorkerInfo& worker) {
  // A driver prints its workers' lines itself: published, they would come back to it.
  if (worker.driver()) return {.publish = false, .max_file_bytes = kDriverOutputBytes};
  return {};
}

void Node::OnWorkerExit(proto::WorkerInfo worker) {
  if (store_) store_->Reclaim(worker.worker_id());  // its share, its spill files
  if (worker.driver() && (worker.exit().signal() != 0 || worker.exit().exit_code() != 0)) {
    outputs_.DrainNow();  // its last words, still in the pipe
    worker.mutable_exit()->set_message(LastLineOf(worker.stdout_path()));
  }
  head_->ReportWorkerExit(worker);
}

proto::NodeInfo Node::Info() const { return InfoAt(pool_.Current()); }

proto::NodeInfo Node::InfoAt(const WorkerPool::Snapshot& now) const {
  proto::NodeInfo info;
  {
    absl::MutexLock lock(&info_mu_);
    info = info_;
  }
  auto& available = *info.mutable_available();
  for (const auto& [name, total] : info.total()) {
    const auto it = now.used.find(name);
    available[name] = it == now.used.end() ? total : std::max(0.0, total - it->second);
  }
  info.set_num_workers(now.alive);
  if (store_) *info.mutable_object_store() = store_->Figures();
  info.set_state(proto::NODE_ALIVE);
  return info;
}

proto::AdoptTokenReply Node::HandTokenOn(const std::string& from, const TokenRotation& rotation) {
  proto::AdoptTokenReply reply;
  // A raylet started again with the same flags finds the new token where it read the old one.
  for (const auto& file : options_.token_files) {
    if (auto written = WriteTokenFile(file, rotation.to); !written.ok()) {
      spdlog::error("cannot keep the rotated token in {}: {}", file, written.message());
      reply.add_warnings(absl::StrCat("node ", id_, " cannot write the new token to ", file, ": ",
                                      written.message()));
    }
  }
  if (options_.token_files.empty()) {
    reply.add_warnings(absl::StrCat("node ", id_,
                                    " has its token from $WEFT_TOKEN: set it to the new token "
                                    "before that node is started again"));
  }
  std::vector<std::string> workers;
  for (const auto& worker : pool_.List()) {
    if (worker.state() == proto::WORKER_ALIVE && !worker.address().empty()) {
      workers.push_back(worker.address());
    }
  }
  const TokenPassed passed = PassTokenOn(workers, from, rotation, kControlRpcTimeout);
  reply.set_workers(passed.took);
  for (const auto& address : passed.unreachable) reply.add_unreachable(address);
  return reply;
}

}  // namespace weft::node
