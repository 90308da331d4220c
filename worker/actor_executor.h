#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/src/call_token.h"
#include "weft/registry.h"

namespace weft::worker {

// Runs one actor's calls. The class's registration picks the kind: thread pool (no coroutine
// methods) or async (any coroutine method). Thread pool: max_concurrency 1 runs one call at a
// time on the worker's shared pool (PooledExecutor), more runs on that many threads of the
// actor's own (ThreadPoolExecutor). Async: one event loop where up to max_concurrency
// coroutine calls are in flight at once (AsyncExecutor).
//
// Concurrency groups: group 0 is the default one (max_concurrency); the class's declared
// groups follow, each with its own limit: for a thread-pool actor an executor of its own per
// group (GroupedExecutor), for an async actor a limit of its own on the one loop.
class ActorExecutor {
 public:
  // `value` is the msgpack result, or `error` holds what the method threw.
  using Finish = std::function<void(internal::PackedResult value, std::exception_ptr error)>;

  struct Stats {
    int running = 0;
    int queued = 0;
    int64_t finished = 0;
  };

  // The executor for `cls`, with `max_concurrency` (0: the kind's default) for its default
  // group and the class's limit for each of its concurrency groups.
  static std::unique_ptr<ActorExecutor> For(const internal::ClassInfo& cls, int max_concurrency);

  virtual ~ActorExecutor() = default;

  virtual const char* kind() const = 0;
  virtual int max_concurrency() const = 0;
  // Runs `work` on the executor before anything submitted after it to its default group (the
  // constructor; calls reach an actor only once its head has heard it was constructed).
  virtual void Post(std::function<void()> work) = 0;
  using Token = std::shared_ptr<internal::CallToken>;

  // Runs `method` on `self` in concurrency group `group` (see GroupIndex). Calls of a group
  // start in submission order. `token` (may be null): a call cancelled before it starts does
  // not run (`finish` gets weft::CancelledError), and the call runs as the token's (cancelled
  // at its coroutine's co_await, CancelRequested() in plain code).
  virtual void Run(const internal::MethodInfo& method, void* self, std::string args, Finish finish,
                   int group = 0, Token token = nullptr) = 0;
  // Waits for running calls; queued ones are dropped (their Finish never runs).
  virtual void Stop() = 0;
  // Starts no more calls (queued ones are dropped) without waiting for the running ones: what
  // Stop does first. Stop still has to be called.
  virtual void Cancel() = 0;

  virtual Stats stats() const { return {running_.load(), queued_.load(), finished_.load()}; }

  // The index of the concurrency group `name` for Run: 0 for "" (the default group), -1 when
  // the class declares no group of that name.
  int GroupIndex(std::string_view name) const;

 protected:
  // Runs a plain method on this thread, counted as running, and reports to `finish` (unless
  // it was cancelled before it started: see Run).
  void RunHere(const internal::MethodInfo& method, void* self, const std::string& args,
               const Finish& finish, const Token& token);
  // False, after telling `finish`, when the call was cancelled before it started.
  static bool Start(const Token& token, const Finish& finish);

  // The names of the groups Run takes, by index: "" (the default group) first.
  std::vector<std::string> groups_{""};
  std::atomic<int> running_{0};
  std::atomic<int> queued_{0};
  std::atomic<int64_t> finished_{0};
};

}  // namespace weft::worker
