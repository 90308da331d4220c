#pragma once

#include <memory>
#include <string>

#include "worker/actor_executor.h"
#include "worker/serial_queue.h"
#include "worker/shared_pool.h"

namespace weft::worker {

// A thread-pool actor with max_concurrency 1: its calls run one at a time, in submission
// order, on the worker's SharedPool (a SerialQueue) rather than on a thread of its own.
class PooledExecutor final : public ActorExecutor {
 public:
  PooledExecutor(const std::string& class_name, SharedPool& pool);
  ~PooledExecutor() override { Stop(); }

  const char* kind() const override { return "thread_pool"; }
  int max_concurrency() const override { return 1; }
  void Post(std::function<void()> work) override { queue_->Post(std::move(work)); }
  void Run(const internal::MethodInfo& method, void* self, std::string args, Finish finish,
           int group = 0, Token token = nullptr) override;
  void Stop() override;
  void Cancel() override { queue_->Stop(); }

 private:
  const std::shared_ptr<SerialQueue> queue_;
};

}  // namespace weft::worker
