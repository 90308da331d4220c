#pragma once

#include <atomic>
#include <coroutine>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weft/async.h"
#include "weft/registry.h"

namespace weft::internal {

class CallToken;

// The object id of item `item` (from 1) of the streaming call whose result is `result_id`.
inline std::string StreamItemId(const std::string& result_id, int64_t item) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = result_id;
  for (int shift = 60; shift >= 0; shift -= 4) id += kHex[(item >> shift) & 0xf];
  return id;
}

// Where a streaming call's items go (the worker's dispatcher: worker/stream_sink.h).
class ItemSink {
 public:
  virtual ~ItemSink() = default;
  // Sends the next item to the caller.
  virtual void Send(PackedResult item) = 0;
  // True when the caller has room for one more item (fewer than its window not taken).
  virtual bool HasRoom() = 0;
  // The same, or else `suspension` is woken once it has room.
  virtual bool RoomOrWake(const std::shared_ptr<Suspension>& suspension) = 0;
};

// A coroutine suspended at one of weft's awaiters (see Suspend in weft/async.h): resumed once,
// by what it waits for or by a cancellation of the call it runs for, whichever comes first.
class Suspension {
 public:
  Suspension(std::coroutine_handle<> handle, std::weak_ptr<Loop> loop,
             std::shared_ptr<CallToken> token)
      : handle_(handle),
        loop_(std::move(loop)),
        has_loop_(!loop_.expired()),
        token_(std::move(token)) {}

  // Resumes the coroutine on its loop (inline without one), as the call it runs for, unless it
  // was resumed already or its loop is gone (an actor destroyed meanwhile: it never resumes).
  void Wake();
  // Its loop; null without one, or once the loop is gone.
  std::shared_ptr<Loop> loop() const { return loop_.lock(); }
  bool has_loop() const { return has_loop_; }
  bool woken() const { return woken_.load(); }

 private:
  const std::coroutine_handle<> handle_;
  // Not kept alive from here: a pending timer or Event holds the suspension, and the loop would
  // then hold itself (a ThreadLoop owns its timers).
  const std::weak_ptr<Loop> loop_;
  const bool has_loop_;
  const std::shared_ptr<CallToken> token_;
  std::atomic<bool> woken_{false};
};

// What a worker keeps of one call it holds or runs, shared by the dispatcher (which cancels it)
// and the executor (which starts it): whether it started, whether its caller cancelled it, the
// Suspension its coroutine waits at, and the calls it submitted (for a recursive cancel).
// Thread-safe.
class CallToken {
 public:
  // The executor, just before running the call: false when it was cancelled before it started
  // (it must not run; its answer was given).
  bool TryStart();
  // The dispatcher: true when the call had not started, and now never will.
  bool CancelBeforeStart();
  // The call runs: CancelRequested() turns true, and a cancellation is due at its coroutine's
  // co_await (the one it waits at now is resumed).
  void RequestCancel();
  bool cancel_requested() const { return requested_.load(std::memory_order_relaxed); }
  // Running (started, and its function has not returned yet).
  bool started() const { return state_.load() == kRunning; }
  // When TryStart let it run, in microseconds since the Unix epoch; 0 until then.
  int64_t started_us() const { return started_us_.load(std::memory_order_relaxed); }
  // Its function returned: a forced cancel no longer kills its worker.
  void Finished() { state_.store(kFinished); }
  bool dropped() const { return state_.load() == kCancelledBeforeStart; }
  // True the first time only: the call's one answer goes to its caller, later ones are dropped
  // (a call cancelled before it started is answered at once, and never runs).
  bool Answer() { return !answered_.exchange(true); }

  // Suspension bookkeeping (Suspend, DeliverCancellation): a coroutine of this call suspends at
  // `suspension`; null when a cancellation is due (it must not suspend).
  bool SuspendAt(const std::shared_ptr<Suspension>& suspension);
  // True once per cancellation: the caller throws weft::CancelledError.
  bool TakeDue();

  // The caller's name for the call (Call.name), set before it starts; empty when it has none.
  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& name() const { return name_; }

  // A streaming call's sink (set before it starts); null for other calls.
  void set_sink(std::shared_ptr<ItemSink> sink) { sink_ = std::move(sink); }
  ItemSink* sink() const { return sink_.get(); }
  const std::shared_ptr<ItemSink>& shared_sink() const { return sink_; }

  // A call or task this call submitted (its result's id). Those that finished are forgotten
  // from time to time, so a long call that submits many keeps few.
  void AddChild(std::string object_id);
  std::vector<std::string> TakeChildren();

  // The call the calling thread runs for (null outside calls), and a scope that sets it.
  static CallToken* Current();
  static std::shared_ptr<CallToken> CurrentShared();
  // The name of the call the calling thread runs, null when it has none (a plain pointer:
  // readable while the thread's thread_locals are destroyed).
  static const std::string* CurrentName();
  class Scope {
   public:
    explicit Scope(std::shared_ptr<CallToken> token);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    std::shared_ptr<CallToken> outer_;
    const std::string* outer_name_;
  };

 private:
  enum State : int { kQueued, kRunning, kCancelledBeforeStart, kFinished };
  std::atomic<int> state_{kQueued};
  std::atomic<int64_t> started_us_{0};
  std::atomic<bool> requested_{false};
  std::atomic<bool> answered_{false};
  std::mutex mu_;
  bool due_ = false;
  std::weak_ptr<Suspension> suspended_;
  std::vector<std::string> children_;
  std::shared_ptr<ItemSink> sink_;
  std::string name_;
  size_t children_kept_ = 64;  // prune the finished ones when there are more
};

}  // namespace weft::internal
