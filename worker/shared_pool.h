#pragma once

#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/timers.h"

namespace weft::worker {

// The worker's shared threads for actors that run one call at a time (thread-pool actors with
// max_concurrency 1, see PooledExecutor) and for async actors' loops (ActorLoop), so an idle
// actor costs no thread of its own.
// A call that blocks (weft::Get on another actor's result, a sleep, I/O) holds its thread;
// when every thread is busy, work is waiting and no call has finished for a whole check
// interval, the pool adds a thread, so blocked actors never starve the others.
class SharedPool {
 public:
  static constexpr std::chrono::milliseconds kCheckInterval{2};
  static constexpr std::chrono::milliseconds kIdleCheckInterval{50};
  static constexpr int kMaxThreads = 4096;

  // The process's pool, started on first use with one thread per core (at least 2).
  static SharedPool& Get();

  explicit SharedPool(int threads);
  ~SharedPool();

  // Runs `work` on a pool thread.
  void Post(std::function<void()> work);
  // Calls `work` once `delay` has passed, on the pool's timer thread, not a pool thread: a
  // timer must fire even while every pool thread is blocked (the call that would unblock them
  // may be the one sleeping). `work` must be short and not block; it posts what it wakes.
  void After(std::chrono::nanoseconds delay, std::function<void()> work);
  // A call finished: the pool is making progress.
  void NoteFinished() { finished_.fetch_add(1, std::memory_order_relaxed); }

  int threads() const { return threads_.load(); }

 private:
  void Watch();
  void AddThread();

  asio::thread_pool pool_;
  Timers timers_;  // its thread starts with the first After
  std::atomic<int> threads_{0};
  std::atomic<int> busy_{0};
  std::atomic<int> waiting_{0};
  std::atomic<uint64_t> finished_{0};

  std::mutex mu_;
  std::condition_variable stop_changed_;
  bool stop_ = false;
  std::vector<std::thread> extra_;  // threads added to pool_ (attached)
  std::thread watcher_;
};

}  // namespace weft::worker
