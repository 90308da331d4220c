#include "worker/stream_sink.h"

namespace weft::worker {

void StreamSink::Send(internal::PackedResult item) {
  int64_t number = 0;
  {
    std::lock_guard lock(mu_);
    if (answered_) return;  // nobody would take it
    number = ++produced_;
    ++unreplied_;
  }
  send_(number, std::move(item), [self = shared_from_this()] { self->Replied(); });
}

bool StreamSink::HasRoom() {
  std::lock_guard lock(mu_);
  return answered_ || produced_ - taken_ < window_;
}

bool StreamSink::RoomOrWake(const std::shared_ptr<internal::Suspension>& suspension) {
  std::lock_guard lock(mu_);
  if (answered_ || produced_ - taken_ < window_) return true;
  producer_ = suspension;
  return false;
}

void StreamSink::Ack(int64_t taken) {
  std::shared_ptr<internal::Suspension> producer;
  {
    std::lock_guard lock(mu_);
    if (taken <= taken_) return;
    taken_ = taken;
    if (produced_ - taken_ < window_) producer = std::move(producer_);
  }
  if (producer) producer->Wake();
}

StreamSink::Reply StreamSink::Last(Reply reply) {
  return [self = shared_from_this(), reply = std::move(reply)](proto::CallResult result) {
    self->stop_();  // done already, or cut short: it must not wait for room any more
    std::unique_lock lock(self->mu_);
    self->answered_ = true;
    if (self->unreplied_ == 0) {
      lock.unlock();
      return reply(std::move(result));
    }
    self->last_ = [reply, result = std::make_shared<proto::CallResult>(std::move(result))] {
      reply(std::move(*result));
    };
  };
}

void StreamSink::Replied() {
  std::function<void()> last;
  {
    std::lock_guard lock(mu_);
    if (--unreplied_ > 0 || !last_) return;
    last = std::move(last_);
  }
  last();
}

}  // namespace weft::worker
