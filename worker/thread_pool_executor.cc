#include "worker/thread_pool_executor.h"

#include <asio/post.hpp>

#include "worker/output_tag.h"

namespace weft::worker {

ThreadPoolExecutor::ThreadPoolExecutor(std::string class_name, int max_concurrency)
    : class_name_(std::move(class_name)),
      threads_(max_concurrency),
      pool_(static_cast<size_t>(max_concurrency)) {}

ThreadPoolExecutor::~ThreadPoolExecutor() { Stop(); }

void ThreadPoolExecutor::Post(std::function<void()> work) {
  asio::post(pool_, [this, work = std::move(work)] {
    ScopedOutputTag tag(&class_name_);
    work();
  });
}

void ThreadPoolExecutor::Run(const internal::MethodInfo& method, void* self, std::string args,
                             Finish finish, int /*group: its only one*/, Token token) {
  ++queued_;
  asio::post(pool_, [this, &method, self, args = std::move(args), finish = std::move(finish),
                     token = std::move(token)] {
    --queued_;
    if (stopped_) return;
    ScopedOutputTag tag(&class_name_);
    RunHere(method, self, args, finish, token);
  });
}

void ThreadPoolExecutor::Stop() {
  stopped_ = true;
  pool_.join();
}

}  // namespace weft::worker
