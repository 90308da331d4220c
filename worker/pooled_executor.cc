#include "worker/pooled_executor.h"

#include "worker/output_tag.h"

namespace weft::worker {

PooledExecutor::PooledExecutor(const std::string& class_name, SharedPool& pool)
    : queue_(SerialQueue::Create(pool, [class_name](std::function<void()>& call) {
        ScopedOutputTag tag(&class_name);  // the runner's own copy: no copy per call
        call();
      })) {}

void PooledExecutor::Run(const internal::MethodInfo& method, void* self, std::string args,
                         Finish finish, int /*group: its only one*/, Token token) {
  ++queued_;
  // The executor is alive while its queue runs a call: Stop waits for it.
  queue_->Post([this, &method, self, args = std::move(args), finish = std::move(finish),
                token = std::move(token)] {
    --queued_;
    RunHere(method, self, args, finish, token);
  });
}

void PooledExecutor::Stop() {
  queue_->Stop();
  queue_->Join();
}

}  // namespace weft::worker
