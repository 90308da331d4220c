#include "raylet/head/log_broker_service.h"

#include <algorithm>
#include <atomic>

#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::head {
namespace {

// One LogBatch message: at most this many lines, stopping once past this many bytes (far
// below gRPC's 4 MiB message limit; a line is at most 64 KiB).
constexpr size_t kBatchLines = 512;
constexpr size_t kBatchBytes = 1 << 20;

// Longest the head waits for one node to drain, within the caller's own deadline.
constexpr auto kDrainMargin = std::chrono::milliseconds(100);

// A stream refused before it started (no token, bad request).
class RefusedStream final : public grpc::ServerWriteReactor<proto::LogBatch> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// Streams one subscription. Writes one batch at a time; a wake-up while a write is in
// flight is picked up by OnWriteDone. Lock order: the subscription's wake lock, then mu_,
// then the subscription's queue. Finish is never called under mu_ (it may complete inline).
class LogBrokerService::SubscribeReactor final : public grpc::ServerWriteReactor<proto::LogBatch> {
 public:
  SubscribeReactor(LogBroker& broker, const std::string& job_id) : broker_(broker) {
    {
      absl::MutexLock lock(&mu_);
      subscription_ = broker_.Subscribe(job_id, [this] { Pump(); });
    }
    Pump();  // the backlog, if any
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
    }
    if (!ok) {
      FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "log stream broken"));
      return;
    }
    Pump();
  }

  void OnCancel() override { FinishOnce(grpc::Status::CANCELLED); }

  void OnDone() override {
    broker_.Unsubscribe(subscription_);  // no Pump runs once this returns
    delete this;
  }

 private:
  void Pump() {
    {
      absl::MutexLock lock(&mu_);
      if (!subscription_ || writing_ || finishing_) return;
      auto lines = subscription_->Take(kBatchLines, kBatchBytes);
      if (!lines.empty()) {
        batch_.Clear();
        for (auto& line : lines) *batch_.add_lines() = std::move(line);
        writing_ = true;
        StartWrite(&batch_);
        return;
      }
      if (!subscription_->Finished()) return;
      finishing_ = true;
    }
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "head is shutting down"));
  }

  void FinishOnce(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finishing_) return;
      finishing_ = true;
    }
    Finish(status);
  }

  LogBroker& broker_;
  absl::Mutex mu_;
  std::shared_ptr<LogBroker::Subscription> subscription_ ABSL_GUARDED_BY(mu_);
  proto::LogBatch batch_ ABSL_GUARDED_BY(mu_);  // the write in flight
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerUnaryReactor* LogBrokerService::PublishLogs(grpc::CallbackServerContext* ctx,
                                                        const proto::PublishLogsRequest* req,
                                                        proto::PublishLogsReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  broker_.Publish({req->lines().begin(), req->lines().end()});
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<proto::LogBatch>* LogBrokerService::SubscribeLogs(
    grpc::CallbackServerContext* ctx, const proto::SubscribeLogsRequest* req) {
  if (!auth_.Allows(*ctx)) {
    return new RefusedStream(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                          "missing or wrong cluster token (x-weft-token)"));
  }
  if (req->job_id().empty()) {
    return new RefusedStream(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "SubscribeLogs needs a job_id"));
  }
  return new SubscribeReactor(broker_, req->job_id());
}

grpc::ServerUnaryReactor* LogBrokerService::FlushLogs(grpc::CallbackServerContext* ctx,
                                                      const proto::FlushLogsRequest* req,
                                                      proto::FlushLogsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (req->job_id().empty()) {
    return FinishWith(ctx, absl::InvalidArgumentError("FlushLogs needs a job_id"));
  }
  const auto nodes = nodes_.ListAlive();
  auto* reactor = ctx->DefaultReactor();
  if (nodes.empty()) {
    rep->set_last_seq(broker_.LastSeq(req->job_id()));
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  const auto now = std::chrono::system_clock::now();
  const auto deadline = std::max(
      now + kDrainMargin, std::min(ctx->deadline() - kDrainMargin, now + kControlRpcTimeout));
  struct Gather {
    std::atomic<int> pending;
    std::atomic<int> drained{0};
    std::atomic<int> failed{0};
  };
  auto gather = std::make_shared<Gather>();
  gather->pending = static_cast<int>(nodes.size());
  for (const auto& node : nodes) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(deadline);
    CallAsync<proto::DrainLogsReply>(
        std::move(context), proto::DrainLogsRequest(),
        [this, &node](auto... args) { NodeStub(node.address()).async()->DrainLogs(args...); },
        [this, gather, reactor, rep, job_id = req->job_id(), node_id = node.node_id()](
            const absl::Status& status, const proto::DrainLogsReply&) {
          if (status.ok()) {
            ++gather->drained;
          } else {
            ++gather->failed;
            spdlog::warn("log flush: node {} did not drain: {}", node_id, status.message());
          }
          if (--gather->pending > 0) return;
          rep->set_last_seq(broker_.LastSeq(job_id));
          rep->set_nodes_drained(gather->drained);
          rep->set_nodes_failed(gather->failed);
          reactor->Finish(grpc::Status::OK);
        });
  }
  return reactor;
}

proto::NodeLogs::Stub& LogBrokerService::NodeStub(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& stub = stubs_[address];
  if (!stub) stub = proto::NodeLogs::NewStub(MakeChannel(address, token_));
  return *stub;
}

}  // namespace weft::head
