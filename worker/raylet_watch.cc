#include "worker/raylet_watch.h"

#include <asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "common/fence_rule.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::worker {

struct RayletWatch::Inbox {
  absl::Mutex mu;
  RayletWatch* watch ABSL_GUARDED_BY(mu);
};

RayletWatch::RayletWatch(asio::io_context& io, std::shared_ptr<grpc::Channel> raylet,
                         std::string worker_id, absl::Duration bound,
                         std::function<void(const std::string&)> on_fence)
    : io_(io),
      stub_(proto::NodeManager::NewStub(std::move(raylet))),
      worker_id_(std::move(worker_id)),
      bound_(bound),
      grace_(WorkerGrace(bound)),
      period_(std::max(absl::Milliseconds(10), bound / 8)),
      on_fence_(std::move(on_fence)),
      inbox_(std::make_shared<Inbox>()),
      check_timer_(io),
      recheck_timer_(io),
      fence_timer_(io) {
  absl::MutexLock lock(&inbox_->mu);
  inbox_->watch = this;
}

RayletWatch::~RayletWatch() {
  absl::MutexLock lock(&inbox_->mu);
  inbox_->watch = nullptr;
}

void RayletWatch::Start(Clock::time_point sent, absl::Duration serve_for) {
  fence_at_ = sent;
  Extend(sent, serve_for);
  ScheduleCheck();
}

void RayletWatch::Extend(Clock::time_point sent, absl::Duration serve_for) {
  if (serve_for <= absl::ZeroDuration()) {
    on_fence_("its node fenced itself (no heartbeat acknowledged by the head)");
    return;
  }
  const auto at = sent + absl::ToChronoNanoseconds(std::min(serve_for, bound_ + grace_));
  if (at < fence_at_) return;  // an older answer arriving late
  fence_at_ = at;
  fence_timer_.expires_at(at);
  fence_timer_.async_wait([this](const std::error_code& error) {
    // A wait that had expired already when a newer answer moved the deadline on cannot be
    // cancelled: it completes without error, and the newer wait stays pending.
    if (error || Clock::now() < fence_at_) return;
    on_fence_("its raylet stopped answering before the node's fencing deadline");
  });
  const auto recheck_at = at - absl::ToChronoNanoseconds(grace_ / 2);
  if (recheck_at <= Clock::now()) return;  // the node is late already: the periodic checks ask
  recheck_timer_.expires_at(recheck_at);
  recheck_timer_.async_wait([this](const std::error_code& error) {
    if (!error) SendCheck();
  });
}

void RayletWatch::ScheduleCheck() {
  check_timer_.expires_after(absl::ToChronoNanoseconds(period_));
  check_timer_.async_wait([this](const std::error_code& error) {
    if (error) return;
    SendCheck();
    ScheduleCheck();
  });
}

void RayletWatch::SendCheck() {
  proto::CheckNodeRequest request;
  request.set_worker_id(worker_id_);
  const Clock::time_point sent = Clock::now();
  CallAsync<proto::CheckNodeReply>(
      ContextWithTimeout(absl::ToChronoMilliseconds(bound_)), std::move(request),
      [this](auto... args) { stub_->async()->CheckNode(args...); },
      [inbox = inbox_, sent](const absl::Status& status, const proto::CheckNodeReply& reply) {
        absl::MutexLock lock(&inbox->mu);
        if (!inbox->watch || !status.ok()) return;  // silence: the fence timer decides
        RayletWatch* watch = inbox->watch;
        const absl::Duration serve_for = absl::Milliseconds(reply.serve_for_ms());
        asio::post(watch->io_, [inbox, sent, serve_for] {
          absl::MutexLock lock(&inbox->mu);
          if (inbox->watch) inbox->watch->Extend(sent, serve_for);
        });
      });
}

}  // namespace weft::worker
