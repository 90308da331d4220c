#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "worker/actor_executor.h"
#include "worker/shared_pool.h"

namespace weft::worker {

// A thread-pool actor with max_concurrency 1: its calls run one at a time, in submission
// order, on the worker's SharedPool rather than on a thread of its own. While it has calls,
// one pool task drains them (a few at a time, then it queues itself again, so busy actors
// take turns).
class PooledExecutor final : public ActorExecutor {
 public:
  PooledExecutor(std::string class_name, SharedPool& pool)
      : class_name_(std::move(class_name)), pool_(pool) {}
  ~PooledExecutor() override { Stop(); }

  const char* kind() const override { return "thread_pool"; }
  int max_concurrency() const override { return 1; }
  void Post(std::function<void()> work) override;
  void Run(const internal::MethodInfo& method, void* self, std::string args, Finish finish,
           int group = 0, Token token = nullptr) override;
  void Stop() override;
  void Cancel() override;

 private:
  static constexpr int kTurn = 64;  // calls per pool task before giving the thread a turn

  // The actor's queue, shared with the pool task draining it (which may outlive the executor:
  // once stopped, it returns without running anything).
  struct Queue {
    std::mutex mu;
    std::condition_variable idle;
    std::deque<std::function<void()>> calls;
    bool scheduled = false;  // a pool task is draining
    bool running = false;    // a call is running
    bool stopped = false;
  };

  void Submit(std::function<void()> work);
  static void Drain(const std::shared_ptr<Queue>& queue, SharedPool& pool);

  const std::string class_name_;  // tags the output lines of its calls
  SharedPool& pool_;
  const std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

}  // namespace weft::worker
