#include "worker/async_executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/src/loop.h"
#include "weft/async.h"
#include "weft/error.h"
#include "worker/pooled_executor.h"

namespace weft::worker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The threads this process runs now (/proc/self/status).
int ThreadsNow() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// A coroutine method whose body is `body`, awaited on the actor's loop.
internal::MethodInfo CoroutineDoing(std::function<Async<void>()> body) {
  internal::MethodInfo method;
  method.name = "M";
  method.call_async = [body](void*, std::string) -> Async<internal::PackedResult> {
    co_await body();
    co_return internal::PackedResult{};
  };
  return method;
}

// A plain method whose body is `body`, run on the actor's loop.
internal::MethodInfo PlainDoing(std::function<void()> body) {
  internal::MethodInfo method;
  method.name = "P";
  method.call = [body](void*, std::string_view) {
    body();
    return internal::PackedResult{};
  };
  return method;
}

// Runs `method` on `actor`; the future is ready once it finished, with what it threw.
std::future<std::exception_ptr> Call(AsyncExecutor& actor, const internal::MethodInfo& method) {
  auto done = std::make_shared<std::promise<std::exception_ptr>>();
  auto future = done->get_future();
  actor.Run(method, nullptr, "",
            [done](internal::PackedResult, std::exception_ptr error) { done->set_value(error); });
  return future;
}

TEST(AsyncExecutor, AnIdleAsyncActorHoldsNoThread) {
  SharedPool pool(2);
  const int before = ThreadsNow();
  std::vector<std::unique_ptr<AsyncExecutor>> actors;
  for (int i = 0; i < 300; ++i) {
    actors.push_back(std::make_unique<AsyncExecutor>("A", std::vector<int>{1000}, pool));
  }
  std::promise<void> ran;
  actors.back()->Post([&] { ran.set_value(); });
  ASSERT_EQ(ran.get_future().wait_for(seconds(10)), std::future_status::ready);
  EXPECT_LE(ThreadsNow() - before, 0);  // the pool's threads were there before
  EXPECT_EQ(pool.threads(), 2);
}

TEST(AsyncExecutor, CoroutinesInterleaveAtTheirAwaitsUpToTheLimitAndTheRestWaitInOrder) {
  Event release;
  std::mutex mu;
  std::vector<int> started;
  std::vector<std::unique_ptr<internal::MethodInfo>> methods;
  SharedPool pool(2);
  AsyncExecutor actor("A", {2}, pool);
  std::vector<std::future<std::exception_ptr>> done;
  for (int i = 0; i < 4; ++i) {
    methods.push_back(std::make_unique<internal::MethodInfo>(CoroutineDoing([&, i]() -> Async<> {
      {
        std::lock_guard lock(mu);
        started.push_back(i);
      }
      co_await release.Wait();
    })));
    done.push_back(Call(actor, *methods.back()));
  }
  // Two suspend at the event; the other two wait for a slot.
  std::promise<std::vector<int>> seen;
  actor.Post([&] {
    std::lock_guard lock(mu);
    seen.set_value(started);
  });
  auto seen_future = seen.get_future();
  ASSERT_EQ(seen_future.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(seen_future.get(), (std::vector<int>{0, 1}));
  release.Set();
  for (auto& d : done) {
    ASSERT_EQ(d.wait_for(seconds(10)), std::future_status::ready);
    EXPECT_EQ(d.get(), nullptr);
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(started, (std::vector<int>{0, 1, 2, 3}));
}

TEST(AsyncExecutor, ASleepingCoroutineResumesOnItsActorAfterItsDelay) {
  bool on_loop_after = false;
  auto sleeper = CoroutineDoing([&]() -> Async<> {
    co_await Sleep(milliseconds(30));
    // Back on the actor's loop: blocking there is refused.
    try {
      internal::Loop::CheckMayBlock("a test");
    } catch (const Error&) {
      on_loop_after = true;
    }
  });
  SharedPool pool(2);
  AsyncExecutor actor("A", {1000}, pool);
  const auto start = std::chrono::steady_clock::now();
  auto done = Call(actor, sleeper);
  ASSERT_EQ(done.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(30));
  EXPECT_EQ(done.get(), nullptr);
  EXPECT_TRUE(on_loop_after);
}

TEST(AsyncExecutor, AnActorsHandlersNeverRunAtOnce) {
  std::atomic<int> inside{0}, most_inside{0};
  auto plain = PlainDoing([&] {
    const int now = ++inside;
    int most = most_inside.load();
    while (now > most && !most_inside.compare_exchange_weak(most, now)) {
    }
    // Long enough for a second pool thread to start another handler, if one could.
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
    while (std::chrono::steady_clock::now() < until) {
    }
    --inside;
  });
  SharedPool pool(4);
  AsyncExecutor actor("A", {1000}, pool);
  // Calls arrive from two threads at once, as from two gRPC threads.
  std::vector<std::future<std::exception_ptr>> done[2];
  std::thread other([&] {
    for (int i = 0; i < 500; ++i) done[1].push_back(Call(actor, plain));
  });
  for (int i = 0; i < 500; ++i) done[0].push_back(Call(actor, plain));
  other.join();
  for (auto& side : done) {
    for (auto& d : side) ASSERT_EQ(d.wait_for(seconds(10)), std::future_status::ready);
  }
  EXPECT_EQ(most_inside.load(), 1);
}

TEST(AsyncExecutor, AnActorThatBlocksItsThreadDoesNotStarveTheOthers) {
  // One thread, and actor A's plain method blocks until actor B's call runs: the pool must add
  // a thread for B.
  std::promise<void> b_ran;
  std::shared_future<void> b_done = b_ran.get_future().share();
  bool a_saw_b = false;
  auto wait_for_b =
      PlainDoing([&] { a_saw_b = b_done.wait_for(seconds(20)) == std::future_status::ready; });
  auto run_b = PlainDoing([&] { b_ran.set_value(); });
  SharedPool pool(1);
  AsyncExecutor a("A", {1000}, pool), b("B", {1000}, pool);
  auto a_done = Call(a, wait_for_b);
  auto b_call = Call(b, run_b);
  ASSERT_EQ(a_done.wait_for(seconds(30)), std::future_status::ready);
  ASSERT_EQ(b_call.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_TRUE(a_saw_b);
  EXPECT_GE(pool.threads(), 2);
}

TEST(AsyncExecutor, ASleepEndsWhileEveryPoolThreadIsBlockedOnIt) {
  // The pool's one thread runs a thread-pool actor's call that waits for the async actor's
  // sleep to end: the sleep's timer must not need a pool thread to fire.
  std::promise<void> woke;
  std::shared_future<void> woken = woke.get_future().share();
  auto sleeper = CoroutineDoing([&]() -> Async<> {
    co_await Sleep(milliseconds(20));
    woke.set_value();
  });
  bool blocker_saw_it = false;
  SharedPool pool(1);
  AsyncExecutor sleeping("S", {1000}, pool);
  PooledExecutor blocking("B", pool);
  auto slept = Call(sleeping, sleeper);
  std::promise<void> blocked;
  blocking.Post([&] {
    blocker_saw_it = woken.wait_for(seconds(20)) == std::future_status::ready;
    blocked.set_value();
  });
  ASSERT_EQ(blocked.get_future().wait_for(seconds(30)), std::future_status::ready);
  EXPECT_TRUE(blocker_saw_it);
  ASSERT_EQ(slept.wait_for(seconds(10)), std::future_status::ready);
}

TEST(AsyncExecutor, StopWaitsForTheRunningHandlerAndDropsQueuedCalls) {
  std::promise<void> started, release;
  auto release_future = release.get_future().share();
  bool finished = false, queued_ran = false;
  auto blocking = PlainDoing([&] {
    started.set_value();
    release_future.wait();
    finished = true;
  });
  auto queued = PlainDoing([&] { queued_ran = true; });
  SharedPool pool(2);
  auto actor = std::make_unique<AsyncExecutor>("A", std::vector<int>{1}, pool);
  auto first = Call(*actor, blocking);
  auto second = Call(*actor, queued);
  started.get_future().wait();
  auto stopper = std::async(std::launch::async, [&] { actor->Stop(); });
  EXPECT_EQ(stopper.wait_for(milliseconds(50)), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(stopper.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_TRUE(finished);
  actor.reset();
  EXPECT_FALSE(queued_ran);
}

TEST(AsyncExecutor, ACoroutineWokenAfterItsActorWasDestroyedIsDroppedSafely) {
  Event never_before_destroyed;
  auto waiter = CoroutineDoing([&]() -> Async<> { co_await never_before_destroyed.Wait(); });
  SharedPool pool(2);
  auto actor = std::make_unique<AsyncExecutor>("A", std::vector<int>{1000}, pool);
  auto done = Call(*actor, waiter);
  std::promise<void> suspended;
  actor->Post([&] { suspended.set_value(); });  // after the coroutine suspended
  ASSERT_EQ(suspended.get_future().wait_for(seconds(10)), std::future_status::ready);
  actor.reset();
  never_before_destroyed.Set();  // its loop is gone: nothing runs (its frame is not freed)
  EXPECT_EQ(done.wait_for(milliseconds(100)), std::future_status::timeout);
}

}  // namespace
}  // namespace weft::worker
