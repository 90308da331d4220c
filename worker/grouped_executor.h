#pragma once

#include <memory>
#include <vector>

#include "worker/actor_executor.h"

namespace weft::worker {

// A thread-pool actor with concurrency groups: an executor per group (the default group's
// first), each with its group's limit, so a group whose calls block holds up no other group.
class GroupedExecutor final : public ActorExecutor {
 public:
  explicit GroupedExecutor(std::vector<std::unique_ptr<ActorExecutor>> parts)
      : parts_(std::move(parts)) {}
  ~GroupedExecutor() override { Stop(); }

  const char* kind() const override { return parts_.front()->kind(); }
  int max_concurrency() const override { return parts_.front()->max_concurrency(); }
  // The constructor runs in the default group.
  void Post(std::function<void()> work) override { parts_.front()->Post(std::move(work)); }
  void Run(const internal::MethodInfo& method, void* self, std::string args, Finish finish,
           int group, Token token) override {
    parts_.at(static_cast<size_t>(group))
        ->Run(method, self, std::move(args), std::move(finish), 0, std::move(token));
  }
  // No group starts a call once any is stopping (the actor is dead to its callers), then
  // each waits for its running calls.
  void Stop() override {
    Cancel();
    for (auto& part : parts_) part->Stop();
  }
  void Cancel() override {
    for (auto& part : parts_) part->Cancel();
  }
  Stats stats() const override {
    Stats sum;
    for (const auto& part : parts_) {
      const Stats one = part->stats();
      sum.running += one.running;
      sum.queued += one.queued;
      sum.finished += one.finished;
    }
    return sum;
  }

 private:
  std::vector<std::unique_ptr<ActorExecutor>> parts_;
};

}  // namespace weft::worker
