#include "worker/async_executor.h"

namespace weft::worker {

AsyncExecutor::AsyncExecutor(const std::string& class_name, std::vector<int> limits,
                             SharedPool& pool)
    : loop_(std::make_shared<ActorLoop>(class_name, pool)) {
  for (int limit : limits) groups_.push_back(Group{limit});
}

AsyncExecutor::~AsyncExecutor() { Stop(); }

void AsyncExecutor::Post(std::function<void()> work) { loop_->Post(std::move(work)); }

void AsyncExecutor::Run(const internal::MethodInfo& method, void* self, std::string args,
                        Finish finish, int group_index, Token token) {
  ++queued_;
  Group& group = groups_.at(static_cast<size_t>(group_index));
  loop_->Post(
      [this, &group,
       call = Call{&method, self, std::move(args), std::move(finish), std::move(token)}]() mutable {
        if (group.in_flight >= group.limit || !group.waiting.empty()) {
          group.waiting.push_back(std::move(call));
          return;
        }
        ++group.in_flight;
        Start(std::move(call), group);
      });
}

void AsyncExecutor::Start(Call call, Group& group) {
  --queued_;
  ++running_;
  if (!ActorExecutor::Start(call.token, call.finish)) {  // cancelled while it waited
    Done(group);
    return;
  }
  // The call's coroutine runs as its token's here, and wherever a Suspension resumes it.
  internal::CallToken::Scope scope(call.token);
  if (!call.method->call_async) {  // a plain method of an async actor: runs to completion
    internal::PackedResult value;
    std::exception_ptr error;
    try {
      value = call.method->call(call.self, call.args);
    } catch (...) {
      error = std::current_exception();
    }
    call.finish(std::move(value), error);
    Done(group);
    return;
  }
  Async<internal::PackedResult> task = call.method->call_async(call.self, std::move(call.args));
  internal::Spawn(std::move(task), [this, &group, finish = std::move(call.finish)](
                                       std::exception_ptr error, internal::PackedResult* value) {
    finish(value ? std::move(*value) : internal::PackedResult(), error);
    Done(group);
  });
}

void AsyncExecutor::Done(Group& group) {
  --running_;
  ++finished_;
  // The slot is released on a later turn of the loop, as asyncio releases a semaphore: what
  // the finished call woke up (Event::Set) runs before the next waiting call starts.
  loop_->Post([this, &group] {
    if (group.waiting.empty()) {
      --group.in_flight;
      return;
    }
    Call next = std::move(group.waiting.front());  // the slot passes to it
    group.waiting.pop_front();
    Start(std::move(next), group);
  });
}

void AsyncExecutor::Stop() {
  // Running calls are awaited (the instance is destroyed next): the loop ends after the
  // handler it runs, and the queued ones are dropped.
  loop_->Stop();
  loop_->Join();
}

}  // namespace weft::worker
