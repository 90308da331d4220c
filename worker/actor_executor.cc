#include "worker/actor_executor.h"

#include "worker/async_executor.h"
#include "worker/thread_pool_executor.h"

namespace weft::worker {

std::unique_ptr<ActorExecutor> ActorExecutor::For(const internal::ClassInfo& cls,
                                                  int max_concurrency) {
  if (cls.is_async()) {
    return std::make_unique<AsyncExecutor>(cls.name, max_concurrency > 0 ? max_concurrency : 1000);
  }
  return std::make_unique<ThreadPoolExecutor>(cls.name, max_concurrency > 0 ? max_concurrency : 1);
}

}  // namespace weft::worker
