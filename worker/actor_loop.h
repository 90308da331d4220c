#pragma once

#include <memory>
#include <string>

#include "client/src/loop.h"
#include "worker/serial_queue.h"
#include "worker/shared_pool.h"

namespace weft::worker {

// An async actor's event loop: a strand on the worker's SharedPool. Its handlers (calls
// starting, coroutines resuming, sleeps ending) run one at a time, in order, on whichever pool
// thread is free, tagged with the actor's class name. So an idle async actor holds no thread,
// and one whose handler blocks holds one thread while the pool adds another for the others.
class ActorLoop final : public internal::Loop {
 public:
  ActorLoop(const std::string& class_name, SharedPool& pool);
  ~ActorLoop() override;

  void Post(std::function<void()> work) override { queue_->Post(std::move(work)); }
  void After(std::chrono::nanoseconds delay, std::function<void()> work) override {
    pool_.After(delay, std::move(work));
  }
  // Runs no more handlers: queued ones are dropped, later ones ignored.
  void Stop() { queue_->Stop(); }
  // Waits for the running handler, unless called from it.
  void Join() { queue_->Join(); }

 private:
  const std::string class_name_;  // tags the output lines of its handlers
  SharedPool& pool_;
  const std::shared_ptr<SerialQueue> queue_;
};

}  // namespace weft::worker
