#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <coroutine>
#include <string>
#include <thread>

#include "weft/async.h"

namespace weft::internal {

// An event loop: an asio::io_context run by one thread. An async actor has one (its thread
// forbids blocking calls); RunSync makes a short-lived one on the caller's thread.
class Loop {
 public:
  // `owner` names the loop in errors, e.g. "async actor Counter"; empty allows blocking.
  explicit Loop(std::string owner = "");
  ~Loop();  // stops the loop and joins its thread, if Start() made one

  asio::io_context& context() { return context_; }

  // Runs the loop on a thread of its own until the destructor.
  void Start();
  // Runs the loop on the calling thread until Stop().
  void RunHere();
  void Stop();
  // Waits for the thread Start() made to end (after Stop); does nothing on that thread itself.
  void Join();

  void Post(std::coroutine_handle<> handle);

  // Throws weft::Error (FAILED_PRECONDITION) naming `what` and the fix when the calling thread
  // runs a loop that forbids blocking.
  static void CheckMayBlock(const char* what);

 private:
  void RunOnThisThread();

  const std::string owner_;
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace weft::internal
