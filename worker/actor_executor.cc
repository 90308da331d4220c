#include "worker/actor_executor.h"

#include "weft/error.h"
#include "worker/async_executor.h"
#include "worker/grouped_executor.h"
#include "worker/pooled_executor.h"
#include "worker/thread_pool_executor.h"

namespace weft::worker {

namespace {

// A thread-pool actor's executor for `max_concurrency` calls at a time.
std::unique_ptr<ActorExecutor> ThreadsFor(const std::string& class_name, int max_concurrency) {
  if (max_concurrency <= 1) return std::make_unique<PooledExecutor>(class_name, SharedPool::Get());
  return std::make_unique<ThreadPoolExecutor>(class_name, max_concurrency);
}

}  // namespace

std::unique_ptr<ActorExecutor> ActorExecutor::For(const internal::ClassInfo& cls,
                                                  int max_concurrency) {
  std::unique_ptr<ActorExecutor> executor;
  if (cls.is_async()) {
    std::vector<int> limits = {max_concurrency > 0 ? max_concurrency : 1000};
    for (const auto& [name, limit] : cls.groups) limits.push_back(limit);
    executor = std::make_unique<AsyncExecutor>(cls.name, std::move(limits));
  } else if (cls.groups.empty()) {
    return ThreadsFor(cls.name, max_concurrency);
  } else {
    std::vector<std::unique_ptr<ActorExecutor>> parts;
    parts.push_back(ThreadsFor(cls.name, max_concurrency));
    for (const auto& [name, limit] : cls.groups) parts.push_back(ThreadsFor(cls.name, limit));
    executor = std::make_unique<GroupedExecutor>(std::move(parts));
  }
  for (const auto& [name, limit] : cls.groups) executor->groups_.push_back(name);
  return executor;
}

int ActorExecutor::GroupIndex(std::string_view name) const {
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (groups_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

bool ActorExecutor::Start(const Token& token, const Finish& finish) {
  if (!token || token->TryStart()) return true;
  finish({}, std::make_exception_ptr(CancelledError("the call was cancelled before it started")));
  return false;
}

void ActorExecutor::RunHere(const internal::MethodInfo& method, void* self, const std::string& args,
                            const Finish& finish, const Token& token) {
  if (!Start(token, finish)) return;
  ++running_;
  internal::PackedResult value;
  std::exception_ptr error;
  try {
    internal::CallToken::Scope scope(token);
    value = method.call(self, args);
  } catch (...) {
    error = std::current_exception();
  }
  --running_;
  ++finished_;
  finish(std::move(value), error);
}

}  // namespace weft::worker
