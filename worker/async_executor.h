#pragma once

#include <deque>
#include <memory>

#include "client/src/loop.h"
#include "worker/actor_executor.h"

namespace weft::worker {

// One event loop thread (standalone Asio) for the actor. Coroutine methods interleave at
// their co_awaits, at most max_concurrency in flight; the rest wait in order. Plain methods
// of the class run on the loop too, one at a time. Blocking weft::Get on this loop throws.
class AsyncExecutor final : public ActorExecutor {
 public:
  AsyncExecutor(const std::string& class_name, int max_concurrency);
  ~AsyncExecutor() override;

  const char* kind() const override { return "async"; }
  int max_concurrency() const override { return max_concurrency_; }
  void Post(std::function<void()> work) override;
  void Run(const internal::MethodInfo& method, void* self, std::string args,
           Finish finish) override;
  void Stop() override;

 private:
  struct Call {
    const internal::MethodInfo* method;
    void* self;
    std::string args;
    Finish finish;
  };
  // Loop thread only. Start runs a call that holds one of the max_concurrency slots.
  void Start(Call call);
  void Done();

  const int max_concurrency_;
  internal::Loop loop_;
  std::deque<Call> waiting_;  // loop thread only
  int in_flight_ = 0;         // loop thread only
};

}  // namespace weft::worker
