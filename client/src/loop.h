#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "weft/async.h"

namespace weft::internal {

// Where a group of coroutines runs and resumes: one handler at a time, in the order they were
// posted. An async actor's loop is a strand on its worker's shared threads (worker/actor_loop.h);
// RunSync makes a short-lived ThreadLoop on the caller's thread. Suspensions hold their loop
// weakly: a coroutine woken after its loop is gone is dropped, never run.
class Loop : public std::enable_shared_from_this<Loop> {
 public:
  virtual ~Loop() = default;
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs `work` on the loop after what was posted before it; nothing once the loop stopped.
  virtual void Post(std::function<void()> work) = 0;
  // Calls `work` once `delay` has passed, on whichever thread the loop's timers fire (it must be
  // thread-safe, as Suspension::Wake is).
  virtual void After(std::chrono::nanoseconds delay, std::function<void()> work) = 0;

  // Throws weft::Error (FAILED_PRECONDITION) naming `what` and the fix when the calling thread
  // runs a loop that forbids blocking.
  static void CheckMayBlock(const char* what);

 protected:
  // `owner` names the loop in errors, e.g. "async actor Counter"; empty allows blocking.
  explicit Loop(std::string owner) : owner_(std::move(owner)) {}

  // Marks the calling thread as running this loop's handlers while it lives (CurrentLoop,
  // CheckMayBlock); restores what it ran before.
  class Running {
   public:
    explicit Running(Loop* loop);
    ~Running();
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

   private:
    Loop* const outer_loop_;
    const std::string* const outer_owner_;
  };

 private:
  const std::string owner_;
};

// An asio::io_context run by the thread that calls Run, until Stop (RunSync's loop).
class ThreadLoop final : public Loop {
 public:
  ThreadLoop() : Loop(""), work_(context_.get_executor()) {}

  void Post(std::function<void()> work) override;
  void After(std::chrono::nanoseconds delay, std::function<void()> work) override;
  void Run();
  void Stop();

 private:
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
};

}  // namespace weft::internal
