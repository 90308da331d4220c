#include "raylet/node/node.h"

#include <unistd.h>
#include "common/logging.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft::node {
namespace {

proto::NodeInfo MakeNodeInfo(const RayletOptions& options, const SessionDir& session) {
  proto::NodeInfo info;
  info.set_node_id(NewNodeId());
  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  info.set_hostname(hostname);
  info.set_is_head(options.head);
  info.set_raylet_pid(getpid());
  info.set_session_dir(session.root());
  for (const auto& [name, amount] : options.resources) {
    (*info.mutable_total())[name] = amount;
  }
  return info;
}

}  // namespace

Node::Node(asio::io_context& io, const RayletOptions& options, const TokenAuth& auth,
           const SessionDir& session)
    : io_(io),
      options_(options),
      info_(MakeNodeInfo(options, session)),
      pool_(WorkerPool::Options{.worker_binary = options.worker_binary,
                                .node_id = info_.node_id(),
                                .worker_host = options.host,
                                .logs_dir = session.LogsDir(),
                                .token = options.token},
            [this](const proto::WorkerInfo& worker) {
              if (head_) head_->ReportWorkerExit(worker);
            }),
      service_(pool_, auth, [this] { return Info(); }),
      heartbeat_timer_(io),
      expiry_timer_(io) {}

absl::Status Node::Start(const std::string& address, const std::string& head_address,
                         FatalCallback on_fatal) {
  info_.set_address(address);
  pool_.SetNodeAddress(address);
  on_fatal_ = std::move(on_fatal);
  head_ = std::make_unique<HeadLink>(head_address, options_.token);
  auto period = head_->Register(info_, absl::Seconds(10));
  if (!period.ok()) {
    return absl::Status(
        period.status().code(),
        absl::StrCat("cannot register with head ", head_address, ": ", period.status().message()));
  }
  heartbeat_period_ = *period > absl::ZeroDuration() ? *period : options_.heartbeat_period;
  last_head_contact_ = absl::Now();
  spdlog::info("node registered id={} head={} resources=\"{}\"", info_.node_id(), head_address,
               FormatResources(options_.resources));
  ScheduleHeartbeat();
  ScheduleStartExpiry();
  return absl::OkStatus();
}

void Node::ScheduleHeartbeat() {
  heartbeat_timer_.expires_after(absl::ToChronoMilliseconds(heartbeat_period_));
  heartbeat_timer_.async_wait([this](const std::error_code& error) {
    if (error) return;
    const proto::NodeInfo info = Info();
    proto::HeartbeatRequest request;
    request.set_node_id(info.node_id());
    *request.mutable_available() = info.available();
    request.set_num_workers(info.num_workers());
    {
      absl::MutexLock lock(&heartbeat_mu_);
      if (stopping_) return;
      heartbeat_in_flight_ = true;
    }
    head_->Heartbeat(request, [this](absl::Status status) {
      absl::MutexLock lock(&heartbeat_mu_);
      heartbeat_in_flight_ = false;
      if (stopping_) return;
      asio::post(io_, [this, status = std::move(status)] { OnHeartbeatDone(status); });
    });
  });
}

void Node::OnHeartbeatDone(absl::Status status) {
  if (status.ok()) {
    last_head_contact_ = absl::Now();
  } else if (status.code() == absl::StatusCode::kFailedPrecondition ||
             status.code() == absl::StatusCode::kNotFound) {
    spdlog::error("node {} rejected by head: {}", info_.node_id(), status.message());
    on_fatal_(absl::AbortedError(
        absl::StrCat("head rejected node ", info_.node_id(), ": ", status.message())));
    return;
  } else if (absl::Now() - last_head_contact_ > options_.head_lost_timeout) {
    on_fatal_(absl::UnavailableError(absl::StrCat("head unreachable for ",
                                                  absl::FormatDuration(options_.head_lost_timeout),
                                                  ": ", status.message())));
    return;
  } else {
    spdlog::warn("heartbeat failed node={} error=\"{}\"", info_.node_id(), status.message());
  }
  ScheduleHeartbeat();
}

void Node::ScheduleStartExpiry() {
  expiry_timer_.expires_after(std::chrono::seconds(1));
  expiry_timer_.async_wait([this](const std::error_code& error) {
    if (error) return;
    pool_.ExpireStarts();
    ScheduleStartExpiry();
  });
}

void Node::Stop(const std::string& reason) {
  {
    absl::MutexLock lock(&heartbeat_mu_);
    stopping_ = true;
    auto answered = [this]()
                        ABSL_SHARED_LOCKS_REQUIRED(heartbeat_mu_) { return !heartbeat_in_flight_; };
    heartbeat_mu_.AwaitWithTimeout(absl::Condition(&answered), absl::Seconds(3));
  }
  heartbeat_timer_.cancel();
  expiry_timer_.cancel();
  pool_.TerminateAll(options_.shutdown_grace);
  if (!head_) return;
  if (auto status = head_->Unregister(info_.node_id(), reason); !status.ok()) {
    spdlog::warn("could not unregister node={} error=\"{}\"", info_.node_id(), status.message());
  }
}

proto::NodeInfo Node::Info() const {
  proto::NodeInfo info = info_;
  const ResourceMap used = pool_.Used();
  auto& available = *info.mutable_available();
  for (const auto& [name, total] : info.total()) {
    const auto it = used.find(name);
    available[name] = it == used.end() ? total : std::max(0.0, total - it->second);
  }
  info.set_num_workers(pool_.NumAlive());
  info.set_state(proto::NODE_ALIVE);
  return info;
}

}  // namespace weft::node
