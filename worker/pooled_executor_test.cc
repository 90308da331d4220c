#include "worker/pooled_executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

namespace weft::worker {
namespace {

using std::chrono::seconds;

// A method whose body is `body`; its result is the msgpack of whatever body returns.
internal::MethodInfo MethodDoing(std::function<std::string()> body) {
  internal::MethodInfo method;
  method.name = "M";
  method.call = [body](void*, std::string_view) { return internal::PackedResult{body(), {}}; };
  return method;
}

TEST(PooledExecutor, RunsOneActorsCallsOneAtATimeInOrder) {
  SharedPool pool(2);
  PooledExecutor actor("A", pool);
  std::mutex mu;
  std::vector<int> order;
  int inside = 0, most_inside = 0;
  std::vector<std::unique_ptr<internal::MethodInfo>> methods;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 200; ++i) {
    methods.push_back(std::make_unique<internal::MethodInfo>(MethodDoing([&, i] {
      {
        std::lock_guard lock(mu);
        most_inside = std::max(most_inside, ++inside);
        order.push_back(i);
      }
      std::lock_guard lock(mu);
      --inside;
      return std::string();
    })));
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    actor.Run(*methods.back(), nullptr, "",
              [promise](internal::PackedResult, std::exception_ptr) { promise->set_value(); });
  }
  for (auto& d : done) ASSERT_EQ(d.wait_for(seconds(10)), std::future_status::ready);
  std::lock_guard lock(mu);
  EXPECT_EQ(most_inside, 1);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(order[i], i);
}

TEST(PooledExecutor, AnIdleActorHoldsNoThread) {
  SharedPool pool(2);
  std::vector<std::unique_ptr<PooledExecutor>> actors;
  for (int i = 0; i < 1000; ++i) actors.push_back(std::make_unique<PooledExecutor>("A", pool));
  std::promise<void> ran;
  actors.back()->Post([&] { ran.set_value(); });
  ASSERT_EQ(ran.get_future().wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(pool.threads(), 2);
}

TEST(PooledExecutor, BlockedCallsDoNotStarveOtherActors) {
  // One thread, and actor A's call blocks until actor B's later call runs: the pool must add
  // a thread for B, as it would for an actor blocked in weft::Get on another actor.
  SharedPool pool(1);
  PooledExecutor a("A", pool), b("B", pool);
  std::promise<void> b_ran;
  std::shared_future<void> b_done = b_ran.get_future().share();
  std::promise<bool> a_result;
  a.Post([&] { a_result.set_value(b_done.wait_for(seconds(20)) == std::future_status::ready); });
  b.Post([&] { b_ran.set_value(); });
  auto a_done = a_result.get_future();
  ASSERT_EQ(a_done.wait_for(seconds(30)), std::future_status::ready);
  EXPECT_TRUE(a_done.get());
  EXPECT_GE(pool.threads(), 2);
}

TEST(PooledExecutor, StopWaitsForTheRunningCallAndDropsQueuedOnes) {
  SharedPool pool(2);
  auto actor = std::make_unique<PooledExecutor>("A", pool);
  std::promise<void> started, release;
  auto release_future = release.get_future().share();
  bool finished = false, queued_ran = false;
  actor->Post([&] {
    started.set_value();
    release_future.wait();
    finished = true;
  });
  actor->Post([&] { queued_ran = true; });
  started.get_future().wait();
  auto stopper = std::async(std::launch::async, [&] { actor->Stop(); });
  EXPECT_EQ(stopper.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(stopper.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_TRUE(finished);
  actor.reset();  // calls posted after the stop run nothing
  EXPECT_FALSE(queued_ran);
}

}  // namespace
}  // namespace weft::worker
