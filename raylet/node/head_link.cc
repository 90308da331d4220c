#include "raylet/node/head_link.h"

#include "common/logging.h"

#include <thread>

#include "common/rpc.h"
#include "common/status.h"

namespace weft::node {

HeadLink::HeadLink(const std::string& head_address, const std::string& token)
    : HeadLink(MakeChannel(head_address, token)) {}

HeadLink::HeadLink(std::shared_ptr<grpc::Channel> channel)
    : stub_(proto::NodeDirectory::NewStub(std::move(channel))) {}

absl::StatusOr<HeadLink::Terms> HeadLink::Register(const proto::NodeInfo& node,
                                                   absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  proto::RegisterNodeRequest request;
  *request.mutable_node() = node;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);  // waits for the head to come up, within the deadline
    context.set_deadline(absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Seconds(2))));
    proto::RegisterNodeReply reply;
    const auto status = FromGrpcStatus(stub_->RegisterNode(&context, request, &reply));
    if (status.ok()) {
      SetMaxMessageBytes(static_cast<int>(reply.max_message_bytes()));  // for its workers
      return Terms{.heartbeat_period = absl::Milliseconds(reply.heartbeat_period_ms()),
                   .node_timeout = absl::Milliseconds(reply.node_timeout_ms()),
                   .cluster_id = reply.cluster_id(),
                   .head_lost_timeout = absl::Milliseconds(reply.head_lost_timeout_ms())};
    }
    const bool retry = status.code() == absl::StatusCode::kUnavailable ||
                       status.code() == absl::StatusCode::kDeadlineExceeded;
    if (!retry || absl::Now() >= deadline) return status;
    spdlog::warn("head not reachable yet attempt={} error=\"{}\"", attempt, status.message());
  }
}

void HeadLink::Heartbeat(const proto::HeartbeatRequest& request, absl::Duration timeout,
                         std::function<void(absl::Status)> done) {
  CallAsync<proto::HeartbeatReply>(
      ContextWithTimeout(absl::ToChronoMilliseconds(timeout)), request,
      [this](auto... args) { stub_->async()->Heartbeat(args...); },
      [done = std::move(done)](absl::Status status, const auto&) { done(std::move(status)); });
}

void HeadLink::ReportWorkerExit(const proto::WorkerInfo& worker) {
  proto::ReportWorkerExitRequest request;
  *request.mutable_worker() = worker;
  CallAsync<proto::ReportWorkerExitReply>(
      ContextWithTimeout(kControlRpcTimeout), std::move(request),
      [this](auto... args) { stub_->async()->ReportWorkerExit(args...); },
      [unreported = unreported_, worker](const absl::Status& status, const auto&) {
        if (status.ok()) return;
        const bool later = status.code() == absl::StatusCode::kUnavailable ||
                           status.code() == absl::StatusCode::kDeadlineExceeded;
        spdlog::warn("worker exit report failed id={} error=\"{}\"{}", worker.worker_id(),
                     status.message(), later ? "; sent again once the head answers" : "");
        if (!later) return;
        absl::MutexLock lock(&unreported->mu);
        unreported->workers[worker.worker_id()] = worker;
      });
}

void HeadLink::ResendWorkerExits() {
  absl::flat_hash_map<std::string, proto::WorkerInfo> again;
  {
    absl::MutexLock lock(&unreported_->mu);
    again.swap(unreported_->workers);
  }
  for (const auto& [id, worker] : again) ReportWorkerExit(worker);
}

absl::Status HeadLink::Unregister(const std::string& node_id, const std::string& reason) {
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::milliseconds(2000));
  proto::UnregisterNodeRequest request;
  request.set_node_id(node_id);
  request.set_reason(reason);
  proto::UnregisterNodeReply reply;
  return FromGrpcStatus(stub_->UnregisterNode(&context, request, &reply));
}

}  // namespace weft::node
