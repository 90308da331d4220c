#pragma once

#include <asio/thread_pool.hpp>

#include "worker/actor_executor.h"

namespace weft::worker {

// A thread-pool actor with max_concurrency N > 1: N threads of its own (asio::thread_pool)
// taking calls from one FIFO queue, so N run truly in parallel. (With 1, PooledExecutor.)
class ThreadPoolExecutor final : public ActorExecutor {
 public:
  ThreadPoolExecutor(std::string class_name, int max_concurrency);
  ~ThreadPoolExecutor() override;

  const char* kind() const override { return "thread_pool"; }
  int max_concurrency() const override { return threads_; }
  void Post(std::function<void()> work) override;
  void Run(const internal::MethodInfo& method, void* self, std::string args, Finish finish,
           int group = 0, Token token = nullptr) override;
  void Stop() override;
  void Cancel() override { stopped_ = true; }

 private:
  const std::string class_name_;  // tags the output lines of its calls
  const int threads_;
  asio::thread_pool pool_;
  std::atomic<bool> stopped_{false};
};

}  // namespace weft::worker
