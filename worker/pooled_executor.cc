#include "worker/pooled_executor.h"

#include "worker/output_tag.h"

namespace weft::worker {

void PooledExecutor::Submit(std::function<void()> work) {
  {
    std::lock_guard lock(queue_->mu);
    if (queue_->stopped) return;
    queue_->calls.push_back(std::move(work));
    if (queue_->scheduled) return;
    queue_->scheduled = true;
  }
  pool_.Post([queue = queue_, &pool = pool_] { Drain(queue, pool); });
}

void PooledExecutor::Drain(const std::shared_ptr<Queue>& queue, SharedPool& pool) {
  for (int turn = 0;; ++turn) {
    std::function<void()> call;
    {
      std::lock_guard lock(queue->mu);
      if (queue->stopped || queue->calls.empty()) {
        queue->scheduled = false;
        return;
      }
      if (turn == kTurn) break;  // still scheduled: queued again below
      call = std::move(queue->calls.front());
      queue->calls.pop_front();
      queue->running = true;
    }
    call();  // the executor is alive: Stop waits for a running call
    pool.NoteFinished();
    std::lock_guard lock(queue->mu);
    queue->running = false;
    queue->idle.notify_all();
  }
  pool.Post([queue, &pool] { Drain(queue, pool); });
}

void PooledExecutor::Post(std::function<void()> work) {
  Submit([this, work = std::move(work)] {
    ScopedOutputTag tag(class_name_);
    work();
  });
}

void PooledExecutor::Run(const internal::MethodInfo& method, void* self, std::string args,
                         Finish finish, int /*group: its only one*/, Token token) {
  ++queued_;
  Submit([this, &method, self, args = std::move(args), finish = std::move(finish),
          token = std::move(token)] {
    --queued_;
    ScopedOutputTag tag(class_name_);
    RunHere(method, self, args, finish, token);
  });
}

void PooledExecutor::Stop() {
  Cancel();
  std::unique_lock lock(queue_->mu);
  queue_->idle.wait(lock, [this] { return !queue_->running; });
}

void PooledExecutor::Cancel() {
  std::lock_guard lock(queue_->mu);
  queue_->stopped = true;
  queue_->calls.clear();
}

}  // namespace weft::worker
