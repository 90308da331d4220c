#include "worker/async_executor.h"

#include <asio/post.hpp>

#include "worker/output_tag.h"

namespace weft::worker {

AsyncExecutor::AsyncExecutor(const std::string& class_name, int max_concurrency)
    : max_concurrency_(max_concurrency), loop_("async actor " + class_name) {
  loop_.Start();
  // The loop's thread runs only this actor: its output lines carry the class name.
  asio::post(loop_.context(), [class_name] {
    static thread_local std::unique_ptr<ScopedOutputTag> tag;
    tag = std::make_unique<ScopedOutputTag>(class_name);
  });
}

AsyncExecutor::~AsyncExecutor() { Stop(); }

void AsyncExecutor::Post(std::function<void()> work) {
  asio::post(loop_.context(), std::move(work));
}

void AsyncExecutor::Run(const internal::MethodInfo& method, void* self, std::string args,
                        Finish finish) {
  ++queued_;
  asio::post(loop_.context(),
             [this, call = Call{&method, self, std::move(args), std::move(finish)}]() mutable {
               if (in_flight_ >= max_concurrency_ || !waiting_.empty()) {
                 waiting_.push_back(std::move(call));
                 return;
               }
               ++in_flight_;
               Start(std::move(call));
             });
}

void AsyncExecutor::Start(Call call) {
  --queued_;
  ++running_;
  if (!call.method->call_async) {  // a plain method of an async actor: runs to completion
    internal::PackedResult value;
    std::exception_ptr error;
    try {
      value = call.method->call(call.self, call.args);
    } catch (...) {
      error = std::current_exception();
    }
    call.finish(std::move(value), error);
    Done();
    return;
  }
  Async<internal::PackedResult> task = call.method->call_async(call.self, std::move(call.args));
  internal::Spawn(std::move(task), [this, finish = std::move(call.finish)](
                                       std::exception_ptr error, internal::PackedResult* value) {
    finish(value ? std::move(*value) : internal::PackedResult(), error);
    Done();
  });
}

void AsyncExecutor::Done() {
  --running_;
  ++finished_;
  // The slot is released on a later turn of the loop, as asyncio releases a semaphore: what
  // the finished call woke up (Event::Set) runs before the next waiting call starts.
  asio::post(loop_.context(), [this] {
    if (waiting_.empty()) {
      --in_flight_;
      return;
    }
    Call next = std::move(waiting_.front());  // the slot passes to it
    waiting_.pop_front();
    Start(std::move(next));
  });
}

void AsyncExecutor::Stop() { loop_.Stop(); }

}  // namespace weft::worker
