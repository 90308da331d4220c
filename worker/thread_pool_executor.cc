#include "worker/thread_pool_executor.h"

#include <asio/post.hpp>

namespace weft::worker {

ThreadPoolExecutor::ThreadPoolExecutor(int max_concurrency)
    : threads_(max_concurrency), pool_(static_cast<size_t>(max_concurrency)) {}

ThreadPoolExecutor::~ThreadPoolExecutor() { Stop(); }

void ThreadPoolExecutor::Post(std::function<void()> work) {
  asio::post(pool_, std::move(work));
}

void ThreadPoolExecutor::Run(const internal::MethodInfo& method, void* self, std::string args,
                             Finish finish) {
  ++queued_;
  asio::post(pool_, [this, &method, self, args = std::move(args), finish = std::move(finish)] {
    --queued_;
    if (stopped_) return;
    ++running_;
    std::string value;
    std::exception_ptr error;
    try {
      value = method.call(self, args);
    } catch (...) {
      error = std::current_exception();
    }
    --running_;
    ++finished_;
    finish(std::move(value), error);
  });
}

void ThreadPoolExecutor::Stop() {
  stopped_ = true;
  pool_.join();
}

}  // namespace weft::worker
