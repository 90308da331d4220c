#include "worker/shared_pool.h"

#include <algorithm>
#include <asio/post.hpp>

#include "common/logging.h"

namespace weft::worker {

SharedPool& SharedPool::Get() {
  static auto* pool = new SharedPool(std::max(2u, std::thread::hardware_concurrency()));
  return *pool;  // never destroyed: actors may post to it until the process exits
}

SharedPool::SharedPool(int threads) : pool_(static_cast<size_t>(threads)), threads_(threads) {
  watcher_ = std::thread([this] { Watch(); });
}

SharedPool::~SharedPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_changed_.notify_all();
  watcher_.join();
  timers_.Stop();
  pool_.stop();  // what is still queued is dropped
  pool_.join();
  for (auto& thread : extra_) thread.join();
}

void SharedPool::Post(std::function<void()> work) {
  ++waiting_;
  asio::post(pool_, [this, work = std::move(work)] {
    --waiting_;
    ++busy_;
    work();
    --busy_;
  });
}

void SharedPool::After(std::chrono::nanoseconds delay, std::function<void()> work) {
  timers_.At(Timers::Clock::now() + std::chrono::duration_cast<Timers::Clock::duration>(delay),
             std::move(work));
}

void SharedPool::Watch() {
  uint64_t last_finished = finished_.load();
  std::unique_lock lock(mu_);
  // Nothing can stall while a thread is idle: look less often then.
  auto interval = [this] { return busy_.load() > 0 ? kCheckInterval : kIdleCheckInterval; };
  while (!stop_changed_.wait_for(lock, interval(), [this] { return stop_; })) {
    const uint64_t finished = finished_.load();
    const bool stalled =
        waiting_.load() > 0 && busy_.load() >= threads_.load() && finished == last_finished;
    last_finished = finished;
    if (stalled && threads_.load() < kMaxThreads) AddThread();
  }
}

void SharedPool::AddThread() {  // mu_ held
  ++threads_;
  extra_.emplace_back([this] { pool_.attach(); });
  spdlog::info("shared actor pool grew threads={} (every thread busy, calls waiting)",
               threads_.load());
}

}  // namespace weft::worker
