#include "worker/actor_executor.h"

#include "worker/async_executor.h"
#include "worker/pooled_executor.h"
#include "worker/thread_pool_executor.h"

namespace weft::worker {

std::unique_ptr<ActorExecutor> ActorExecutor::For(const internal::ClassInfo& cls,
                                                  int max_concurrency) {
  if (cls.is_async()) {
    return std::make_unique<AsyncExecutor>(cls.name, max_concurrency > 0 ? max_concurrency : 1000);
  }
  if (max_concurrency <= 1) return std::make_unique<PooledExecutor>(cls.name, SharedPool::Get());
  return std::make_unique<ThreadPoolExecutor>(cls.name, max_concurrency);
}

void ActorExecutor::RunHere(const internal::MethodInfo& method, void* self, const std::string& args,
                            const Finish& finish) {
  ++running_;
  internal::PackedResult value;
  std::exception_ptr error;
  try {
    value = method.call(self, args);
  } catch (...) {
    error = std::current_exception();
  }
  --running_;
  ++finished_;
  finish(std::move(value), error);
}

}  // namespace weft::worker
