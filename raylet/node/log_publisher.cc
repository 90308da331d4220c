#include "raylet/node/log_publisher.h"

#include <asio/post.hpp>
#include <deque>
#include <future>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/logging.h"

namespace weft::node {

// The state, shared with the publishes in flight so that their answers never meet a
// destroyed publisher. The timer stays with the LogPublisher (it must die before the
// io_context) and is only started under `mu_`; `owner` is cleared when the LogPublisher goes
// away, so once Detach returns nothing touches the timer but the destructor.
class LogPublisher::Core : public std::enable_shared_from_this<LogPublisher::Core> {
 public:
  Core(asio::io_context& io, Options options, Send send, LogPublisher* owner)
      : options_(options), send_(std::move(send)), io_(&io), owner_(owner) {}

  void Detach() {
    absl::MutexLock lock(&mu_);
    io_ = nullptr;
    owner_ = nullptr;
  }

  void Add(proto::LogLine line) {
    std::optional<proto::PublishLogsRequest> batch;
    {
      absl::MutexLock lock(&mu_);
      if (queue_.size() >= options_.max_queued) {
        queue_.pop_front();
        ++dropped_;
      }
      queue_.push_back({next_serial_++, std::move(line)});
      if (!in_flight_ && queue_.size() >= options_.batch_lines) {
        batch = TakeBatchLocked();
      } else if (!in_flight_ && !timer_armed_) {
        ArmTimerLocked(options_.period);
      }
    }
    if (batch) SendBatch(*std::move(batch));
  }

  void Flush(Done done) {
    std::optional<proto::PublishLogsRequest> batch;
    bool settled;
    {
      absl::MutexLock lock(&mu_);
      const uint64_t target = next_serial_ - 1;
      settled = LowestUnsettledLocked() > target;
      if (!settled) {
        waiters_.push_back({target, std::move(done)});
        if (!in_flight_) batch = TakeBatchLocked();
      }
    }
    if (settled) done(absl::OkStatus());
    if (batch) SendBatch(*std::move(batch));
  }

  void OnTimer() {
    std::optional<proto::PublishLogsRequest> batch;
    {
      absl::MutexLock lock(&mu_);
      timer_armed_ = false;
      if (!in_flight_ && !queue_.empty()) batch = TakeBatchLocked();
    }
    if (batch) SendBatch(*std::move(batch));
  }

  uint64_t published() const {
    absl::MutexLock lock(&mu_);
    return published_;
  }
  uint64_t dropped() const {
    absl::MutexLock lock(&mu_);
    return dropped_;
  }

 private:
  struct Queued {
    uint64_t serial;
    proto::LogLine line;
  };
  struct Waiter {
    uint64_t target;  // done once every line up to this serial is settled
    Done done;
  };

  // Lines below this serial are acknowledged or dropped.
  uint64_t LowestUnsettledLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    if (in_flight_) return in_flight_first_;
    return queue_.empty() ? next_serial_ : queue_.front().serial;
  }

  proto::PublishLogsRequest TakeBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    proto::PublishLogsRequest batch;
    in_flight_first_ = queue_.front().serial;
    size_t bytes = 0;
    while (!queue_.empty() && static_cast<size_t>(batch.lines_size()) < options_.batch_lines &&
           bytes < options_.batch_bytes) {
      bytes += queue_.front().line.text().size();
      *batch.add_lines() = std::move(queue_.front().line);
      in_flight_last_ = queue_.front().serial;
      queue_.pop_front();
    }
    in_flight_ = true;
    return batch;
  }

  void SendBatch(proto::PublishLogsRequest batch) {
    // The lines travel inside the request; a failed publish needs them back.
    auto copy = std::make_shared<proto::PublishLogsRequest>(batch);
    send_(std::move(batch), [self = shared_from_this(), copy](absl::Status status) {
      self->OnSent(status, std::move(*copy));
    });
  }

  void OnSent(const absl::Status& status, proto::PublishLogsRequest batch) {
    std::vector<std::pair<Done, absl::Status>> finished;
    std::optional<proto::PublishLogsRequest> next;
    {
      absl::MutexLock lock(&mu_);
      in_flight_ = false;
      if (status.ok()) {
        published_ += batch.lines_size();
        if (dropped_ > dropped_reported_) {
          spdlog::warn("publishing worker output again; {} lines were dropped meanwhile",
                       dropped_ - dropped_reported_);
          dropped_reported_ = dropped_;
        }
      } else {
        Requeue(batch);
        spdlog::warn("cannot publish worker output to the head: {}; {} lines queued, {} dropped",
                     status.message(), queue_.size(), dropped_);
      }
      const uint64_t settled_below = status.ok() ? LowestUnsettledLocked() : 0;
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (!status.ok() || settled_below > it->target) {
          finished.emplace_back(std::move(it->done), status);
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
      if (status.ok() && !queue_.empty() &&
          (!waiters_.empty() || queue_.size() >= options_.batch_lines)) {
        next = TakeBatchLocked();
      } else if (!queue_.empty()) {  // (re)arms: a retry replaces a longer pending wait
        ArmTimerLocked(status.ok() ? options_.period : options_.retry_after);
      }
    }
    for (auto& [done, result] : finished) done(result);
    if (next) SendBatch(*std::move(next));
  }

  // Puts a failed batch back in front, dropping the oldest lines beyond the bound.
  void Requeue(proto::PublishLogsRequest& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    uint64_t serial = in_flight_last_;
    for (int i = batch.lines_size() - 1; i >= 0; --i) {
      queue_.push_front({serial--, std::move(*batch.mutable_lines(i))});
    }
    while (queue_.size() > options_.max_queued) {
      queue_.pop_front();
      ++dropped_;
    }
  }

  // Has the owner's timer call OnTimer after `delay`, on the io_context.
  void ArmTimerLocked(std::chrono::milliseconds delay) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!io_) return;
    timer_armed_ = true;
    asio::post(*io_, [self = shared_from_this(), delay] {
      // Under the lock: the owner may be destroyed on another thread, and Detach waits.
      absl::MutexLock lock(&self->mu_);
      if (self->owner_) self->owner_->StartTimer(delay);
    });
  }

  const Options options_;
  const Send send_;
  mutable absl::Mutex mu_;
  asio::io_context* io_ ABSL_GUARDED_BY(mu_);
  LogPublisher* owner_ ABSL_GUARDED_BY(mu_);
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 1;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t in_flight_first_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t in_flight_last_ ABSL_GUARDED_BY(mu_) = 0;
  bool timer_armed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t published_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_reported_ ABSL_GUARDED_BY(mu_) = 0;
};

LogPublisher::LogPublisher(asio::io_context& io, Options options, Send send)
    : timer_(io), core_(std::make_shared<Core>(io, options, std::move(send), this)) {}

LogPublisher::~LogPublisher() {
  core_->Detach();
  timer_.cancel();
}

void LogPublisher::Add(proto::LogLine line) { core_->Add(std::move(line)); }

void LogPublisher::Flush(Done done) { core_->Flush(std::move(done)); }

absl::Status LogPublisher::FlushAndWait(absl::Duration timeout) {
  auto result = std::make_shared<std::promise<absl::Status>>();
  auto future = result->get_future();
  core_->Flush([result](absl::Status status) { result->set_value(std::move(status)); });
  if (future.wait_for(absl::ToChronoMilliseconds(timeout)) != std::future_status::ready) {
    return absl::DeadlineExceededError("worker output not published in time");
  }
  return future.get();
}

uint64_t LogPublisher::published() const { return core_->published(); }
uint64_t LogPublisher::dropped() const { return core_->dropped(); }

void LogPublisher::StartTimer(std::chrono::milliseconds delay) {
  timer_.expires_after(delay);
  timer_.async_wait([core = core_](const std::error_code& error) {
    if (!error) core->OnTimer();
  });
}

}  // namespace weft::node
