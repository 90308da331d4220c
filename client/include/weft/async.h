#pragma once

// Coroutines for async actors and drivers: `weft::Async<T>` is the coroutine type; inside one,
// `co_await` an ObjectRef, another Async, an Event or a Sleep. Resumption happens on the
// event loop the coroutine runs on (an async actor's loop, or RunSync's).

#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace weft {

template <class T = void>
class Async;

namespace internal {

// Where coroutines run and resume, one handler at a time (opaque here: see client/src/loop.h).
class Loop;

// The loop that runs the calling thread's coroutines, or null on a plain thread.
Loop* CurrentLoop();

// A coroutine suspended at one of weft's awaiters (ObjectRef, Event, Sleep), resumed exactly
// once: by what it waits for (Wake), or by a cancellation of the call it runs for
// (weft::Cancel), whichever comes first (client/src/call_token.h).
class Suspension;
// Suspends `handle` on the calling thread's loop (none: Wake resumes it inline), for the call
// the thread runs. Null when that call's cancellation is due now: the awaiter must not suspend.
std::shared_ptr<Suspension> Suspend(std::coroutine_handle<> handle);
// Resumes the suspended coroutine on its loop (posted, never inline), unless it was resumed
// already. Thread-safe.
void Wake(const std::shared_ptr<Suspension>& suspension);
// Wakes it after `delay`. Throws weft::Error when it was suspended on no loop.
void WakeAfter(std::chrono::nanoseconds delay, const std::shared_ptr<Suspension>& suspension);
// Every weft awaiter's await_resume calls it first: throws weft::CancelledError when the running
// call was cancelled since (once per cancellation).
void DeliverCancellation();

// Runs `start` on a fresh loop on this thread, and the loop until `start`'s work calls the
// `finished` callback it was given. Throws weft::Error on an async actor's loop.
void RunOnFreshLoop(void (*start)(void* arg, void (*finished)(void*), void* finished_arg),
                    void* arg);

struct AsyncPromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) noexcept {
      auto next = self.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() { error = std::current_exception(); }
};

template <class T>
struct AsyncPromise : AsyncPromiseBase {
  std::optional<T> value;
  Async<T> get_return_object();
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T Take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct AsyncPromise<void> : AsyncPromiseBase {
  Async<void> get_return_object();
  void return_void() {}
  void Take() {
    if (error) std::rethrow_exception(error);
  }
};

// A fire-and-forget coroutine that starts at once and frees itself at the end.
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

}  // namespace internal

// A lazily started coroutine producing T. Start it by co_await-ing it from another coroutine,
// by returning it from an actor method, or with RunSync. Move-only; destroying an unfinished
// Async destroys its frame.
template <class T>
class [[nodiscard]] Async {
 public:
  using promise_type = internal::AsyncPromise<T>;
  using value_type = T;

  explicit Async(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  Async(Async&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Async& operator=(Async&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Async(const Async&) = delete;
  Async& operator=(const Async&) = delete;
  ~Async() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return !handle_ || handle_.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    handle_.promise().continuation = caller;
    return handle_;
  }
  T await_resume() { return handle_.promise().Take(); }

 private:
  std::coroutine_handle<promise_type> handle_;
};

namespace internal {

template <class T>
Async<T> AsyncPromise<T>::get_return_object() {
  return Async<T>(std::coroutine_handle<AsyncPromise<T>>::from_promise(*this));
}
inline Async<void> AsyncPromise<void>::get_return_object() {
  return Async<void>(std::coroutine_handle<AsyncPromise<void>>::from_promise(*this));
}

// Runs `task` to completion in the background; `done(error, value_or_null)` runs where it
// finished. For void tasks `value_or_null` is a null `const void*`.
template <class T, class Done>
Detached Spawn(Async<T> task, Done done) {
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await std::move(task);
    } catch (...) {
      error = std::current_exception();
    }
    done(error, static_cast<const void*>(nullptr));
  } else {
    std::optional<T> value;
    try {
      value.emplace(co_await std::move(task));
    } catch (...) {
      error = std::current_exception();
    }
    done(error, value ? &*value : nullptr);
  }
}

}  // namespace internal

// Runs a coroutine to completion on a fresh event loop on this thread and returns its result
// (or rethrows its exception). This is the wrapper that runs async code from plain code, e.g.
// inside a remote task (Ray's `asyncio.run`). Throws weft::Error when called on an async
// actor's event loop, which it would block: `co_await` the coroutine there instead.
template <class T>
T RunSync(Async<T> task) {
  struct State {
    Async<T> task;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  } state{std::move(task), nullptr, std::nullopt};
  internal::RunOnFreshLoop(
      [](void* arg, void (*finished)(void*), void* finished_arg) {
        auto* s = static_cast<State*>(arg);
        internal::Spawn(std::move(s->task),
                        [s, finished, finished_arg](std::exception_ptr e, const auto* v) {
                          s->error = e;
                          if constexpr (std::is_void_v<T>) {
                            if (!e) s->value.emplace(true);
                          } else {
                            if (v) s->value.emplace(std::move(*const_cast<T*>(v)));
                          }
                          finished(finished_arg);
                        });
      },
      &state);
  if (state.error) std::rethrow_exception(state.error);
  if constexpr (!std::is_void_v<T>) return std::move(*state.value);
}

// An awaitable flag, like asyncio.Event: coroutines `co_await event.Wait()` until some code
// calls Set(); Clear() re-arms it. Waiters resume on their own loops, after Set() returns.
// Thread-safe.
class Event {
 public:
  void Set();
  void Clear();
  bool IsSet() const;

  class Awaiter {
   public:
    explicit Awaiter(Event& event) : event_(event) {}
    bool await_ready() const { return event_.IsSet(); }
    bool await_suspend(std::coroutine_handle<> handle);
    void await_resume() const { internal::DeliverCancellation(); }

   private:
    Event& event_;
  };
  Awaiter Wait() { return Awaiter(*this); }

 private:
  mutable std::mutex mu_;
  bool set_ = false;
  std::vector<std::shared_ptr<internal::Suspension>> waiters_;
};

// `co_await weft::Sleep(d)` suspends the coroutine for `d` without blocking its loop.
// In a cancelled call it throws weft::CancelledError at once.
class Sleep {
 public:
  explicit Sleep(std::chrono::nanoseconds duration) : duration_(duration) {}
  bool await_ready() const noexcept { return duration_.count() <= 0; }
  bool await_suspend(std::coroutine_handle<> handle) const {
    auto suspension = internal::Suspend(handle);
    if (!suspension) return false;  // cancelled: await_resume throws
    internal::WakeAfter(duration_, suspension);
    return true;
  }
  void await_resume() const { internal::DeliverCancellation(); }

 private:
  std::chrono::nanoseconds duration_;
};

}  // namespace weft
