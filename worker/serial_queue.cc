#include "worker/serial_queue.h"

namespace weft::worker {

void SerialQueue::Post(std::function<void()> item) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    items_.push_back(std::move(item));
    if (scheduled_) return;
    scheduled_ = true;
  }
  pool_.Post([queue = shared_from_this()] { Drain(queue); });
}

void SerialQueue::Drain(const std::shared_ptr<SerialQueue>& queue) {
  for (int turn = 0;; ++turn) {
    std::function<void()> item;
    {
      std::lock_guard lock(queue->mu_);
      if (queue->stopped_ || queue->items_.empty()) {
        queue->scheduled_ = false;
        return;
      }
      if (turn == kTurn) break;  // still scheduled: queued again below
      item = std::move(queue->items_.front());
      queue->items_.pop_front();
      queue->running_on_ = std::this_thread::get_id();
    }
    queue->run_(item);  // the owner is alive: Join waits for a running item
    item = nullptr;     // what the item held goes before the queue is idle
    queue->pool_.NoteFinished();
    std::lock_guard lock(queue->mu_);
    queue->running_on_ = {};
    queue->idle_.notify_all();
  }
  queue->pool_.Post([queue] { Drain(queue); });
}

void SerialQueue::Stop() {
  std::list<std::function<void()>> dropped;
  std::lock_guard lock(mu_);
  stopped_ = true;
  dropped.swap(items_);
}

void SerialQueue::Join() {
  std::unique_lock lock(mu_);
  if (running_on_ == std::this_thread::get_id()) return;
  idle_.wait(lock, [this] { return running_on_ == std::thread::id(); });
}

}  // namespace weft::worker
