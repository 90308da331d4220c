#pragma once

#include <list>
#include <memory>
#include <vector>

#include "worker/actor_executor.h"
#include "worker/actor_loop.h"
#include "worker/shared_pool.h"

namespace weft::worker {

// One event loop for the actor: a strand on the worker's shared threads (ActorLoop), so an idle
// async actor holds no thread. Coroutine methods interleave at their co_awaits, at most
// max_concurrency in flight; the rest wait in order. Plain methods of the class run on the loop
// too, one at a time. Blocking weft::Get on this loop throws.
// Each concurrency group has a limit and a queue of its own on the same loop (so the groups'
// coroutines never run at once, and need no locks between them).
class AsyncExecutor final : public ActorExecutor {
 public:
  // `limits`: the default group's max_concurrency, then each concurrency group's.
  AsyncExecutor(const std::string& class_name, std::vector<int> limits,
                SharedPool& pool = SharedPool::Get());
  ~AsyncExecutor() override;

  const char* kind() const override { return "async"; }
  int max_concurrency() const override { return groups_.front().limit; }
  void Post(std::function<void()> work) override;
  void Run(const internal::MethodInfo& method, void* self, std::string args, Finish finish,
           int group = 0, Token token = nullptr) override;
  void Stop() override;
  void Cancel() override { loop_->Stop(); }

 private:
  struct Call {
    const internal::MethodInfo* method;
    void* self;
    std::string args;
    Finish finish;
    Token token;
  };
  // A concurrency group's slots; on the loop only (its handlers never overlap), but for `limit`.
  struct Group {
    int limit;
    int in_flight = 0;
    std::list<Call> waiting;  // not a deque: an empty one holds 512 bytes
  };
  // On the loop only. Start runs a call that holds one of its group's slots.
  void Start(Call call, Group& group);
  void Done(Group& group);

  std::vector<Group> groups_;  // never resized: calls keep references to their group
  // Held weakly by the suspensions of its coroutines: one woken after the actor is gone is
  // dropped.
  const std::shared_ptr<ActorLoop> loop_;
};

}  // namespace weft::worker
