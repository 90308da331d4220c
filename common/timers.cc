#include "common/timers.h"

namespace weft {

Timers::~Timers() { Stop(); }

uint64_t Timers::At(Clock::time_point when, std::function<void()> fire) {
  std::lock_guard lock(mu_);
  if (stopped_) return 0;
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  const uint64_t id = ++last_id_;
  const bool earliest = due_.empty() || std::make_pair(when, id) < due_.begin()->first;
  due_.emplace(std::make_pair(when, id), std::move(fire));
  when_.emplace(id, when);
  if (earliest) changed_.notify_one();
  return id;
}

bool Timers::Cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = when_.find(id);
  if (it == when_.end()) return false;
  due_.erase(std::make_pair(it->second, id));
  when_.erase(it);
  return true;
}

void Timers::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    due_.clear();
    when_.clear();
    changed_.notify_one();
  }
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // stopped from a timer: the thread ends as that returns
  } else {
    thread_.join();
  }
}

void Timers::Run() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    if (due_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    // A copy: a Cancel while this waits frees the entry, which wait_until keeps reading.
    const Clock::time_point when = first->first.first;
    if (when > Clock::now()) {
      changed_.wait_until(lock, when);
      continue;
    }
    std::function<void()> fire = std::move(first->second);
    when_.erase(first->first.second);
    due_.erase(first);
    lock.unlock();
    fire();
    fire = nullptr;  // what it holds goes before the lock is taken again
    lock.lock();
  }
}

}  // namespace weft
