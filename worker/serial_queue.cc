#include "worker/serial_queue.h"

#include <atomic>

namespace weft::worker {
namespace {

thread_local CallerRuns* open_on_this_thread = nullptr;
std::atomic<bool> turn_taken{false};  // some thread of the process keeps an item

}  // namespace

CallerRuns::CallerRuns() : outer_(open_on_this_thread) { open_on_this_thread = this; }

CallerRuns::~CallerRuns() {
  Run();
  open_on_this_thread = outer_;
}

CallerRuns* CallerRuns::TakeTurn() {
  CallerRuns* self = open_on_this_thread;
  if (!self || self->used_) return nullptr;
  bool expected = false;
  if (!turn_taken.compare_exchange_strong(expected, true)) return nullptr;
  self->used_ = true;
  return self;
}

void CallerRuns::Run() {
  if (!queue_) return;
  const std::shared_ptr<SerialQueue> queue = std::move(queue_);
  queue->RunKept(std::move(item_));
  turn_taken.store(false);
}

void SerialQueue::Post(std::function<void()> item) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (!scheduled_) {  // idle: the posting thread may run it (CallerRuns)
      if (CallerRuns* caller = CallerRuns::TakeTurn()) {
        scheduled_ = true;
        running_on_ = std::this_thread::get_id();  // Join, from elsewhere, waits for it
        caller->queue_ = shared_from_this();
        caller->item_ = std::move(item);
        return;
      }
    }
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

void SerialQueue::RunKept(std::function<void()> item) {
  bool stopped;
  {
    std::lock_guard lock(mu_);
    stopped = stopped_;
  }
  if (!stopped) {
    run_(item);  // the owner is alive: Join waits for the kept item
    pool_.NoteFinished();
  }
  item = nullptr;  // what the item held goes before the queue is idle
  {
    std::lock_guard lock(mu_);
    running_on_ = {};
    idle_.notify_all();
    if (stopped_ || items_.empty()) {
      scheduled_ = false;
      return;
    }
  }
  pool_.Post([queue = shared_from_this()] { Drain(queue); });
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
