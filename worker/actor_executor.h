#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "weft/registry.h"

namespace weft::worker {

// Runs one actor's calls. The class's registration picks the kind: thread pool (no coroutine
// methods) or async (any coroutine method). Thread pool: max_concurrency 1 runs one call at a
// time on the worker's shared pool (PooledExecutor), more runs on that many threads of the
// actor's own (ThreadPoolExecutor). Async: one event loop where up to max_concurrency
// coroutine calls are in flight at once (AsyncExecutor).
class ActorExecutor {
 public:
  // `value` is the msgpack result, or `error` holds what the method threw.
  using Finish = std::function<void(internal::PackedResult value, std::exception_ptr error)>;

  struct Stats {
    int running = 0;
    int queued = 0;
    int64_t finished = 0;
  };

  // The executor for `cls`, with `max_concurrency` (0: the kind's default).
  static std::unique_ptr<ActorExecutor> For(const internal::ClassInfo& cls, int max_concurrency);

  virtual ~ActorExecutor() = default;

  virtual const char* kind() const = 0;
  virtual int max_concurrency() const = 0;
  // Runs `work` on the executor before anything submitted after it (the constructor).
  virtual void Post(std::function<void()> work) = 0;
  // Runs `method` on `self`. Calls start in submission order.
  virtual void Run(const internal::MethodInfo& method, void* self, std::string args,
                   Finish finish) = 0;
  // Waits for running calls; queued ones are dropped (their Finish never runs).
  virtual void Stop() = 0;

  Stats stats() const { return {running_.load(), queued_.load(), finished_.load()}; }

 protected:
  // Runs a plain method on this thread, counted as running, and reports to `finish`.
  void RunHere(const internal::MethodInfo& method, void* self, const std::string& args,
               const Finish& finish);

  std::atomic<int> running_{0};
  std::atomic<int> queued_{0};
  std::atomic<int64_t> finished_{0};
};

}  // namespace weft::worker
