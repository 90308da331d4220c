#include "worker/serial_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace weft::worker {
namespace {

using std::chrono::seconds;

std::shared_ptr<SerialQueue> Queue(SharedPool& pool) {
  return SerialQueue::Create(pool, [](std::function<void()>& item) { item(); });
}

// Expects the item that reports its thread to `reported` to run, within 10 s, on a thread other
// than this one.
void ExpectRanElsewhere(std::promise<std::thread::id>& reported) {
  auto future = reported.get_future();
  ASSERT_EQ(future.wait_for(seconds(10)), std::future_status::ready) << "the item did not run";
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(SerialQueue, AnItemPostedToAnIdleQueueUnderCallerRunsRunsOnThePostingThread) {
  SharedPool pool(2);
  auto queue = Queue(pool);
  std::thread::id ran_on;
  {
    CallerRuns caller_runs;
    queue->Post([&] { ran_on = std::this_thread::get_id(); });
    EXPECT_EQ(ran_on, std::thread::id()) << "kept until Run, not run inside Post";
    caller_runs.Run();
  }
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(SerialQueue, WithoutCallerRunsItemsRunOnThePool) {
  SharedPool pool(2);
  auto queue = Queue(pool);
  std::promise<std::thread::id> ran_on;
  queue->Post([&] { ran_on.set_value(std::this_thread::get_id()); });
  ExpectRanElsewhere(ran_on);
}

TEST(SerialQueue, ItemsPostedAfterTheKeptOneRunAfterItInOrder) {
  SharedPool pool(2);
  auto queue = Queue(pool);
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> last_done;
  {
    CallerRuns caller_runs;
    for (int i = 0; i < 50; ++i) {
      queue->Post([&, i] {
        std::lock_guard lock(mu);
        order.push_back(i);
        if (i == 49) last_done.set_value();
      });
    }
    caller_runs.Run();
  }
  ASSERT_EQ(last_done.get_future().wait_for(seconds(10)), std::future_status::ready);
  std::lock_guard lock(mu);
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

TEST(SerialQueue, AQueueBusyOnThePoolKeepsNothingForTheCaller) {
  SharedPool pool(2);
  auto queue = Queue(pool);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  queue->Post([&] {
    started.set_value();
    released.wait();
  });
  ASSERT_EQ(started.get_future().wait_for(seconds(10)), std::future_status::ready);
  std::promise<std::thread::id> ran_on;
  {
    CallerRuns caller_runs;
    queue->Post([&] { ran_on.set_value(std::this_thread::get_id()); });
    caller_runs.Run();  // nothing kept: the item waits behind the running one
  }
  release.set_value();
  ExpectRanElsewhere(ran_on);
}

// A kept call may block (a weft::Get): it must hold at most one of the process's gRPC
// threads, so while one thread keeps an item, others' items go to the pool.
TEST(SerialQueue, OneThreadOfTheProcessKeepsAnItemAtATime) {
  SharedPool pool(2);
  auto first = Queue(pool);
  auto second = Queue(pool);
  std::promise<void> kept;
  std::promise<void> release;
  std::thread holder([&] {
    CallerRuns caller_runs;
    first->Post([&] { release.get_future().wait(); });
    kept.set_value();
    caller_runs.Run();
  });
  ASSERT_EQ(kept.get_future().wait_for(seconds(10)), std::future_status::ready);
  std::promise<std::thread::id> ran_on;
  {
    CallerRuns caller_runs;
    second->Post([&] { ran_on.set_value(std::this_thread::get_id()); });
    ExpectRanElsewhere(ran_on);  // on the pool, while the holder is blocked in its own item
  }
  release.set_value();
  holder.join();
}

TEST(SerialQueue, AKeptItemOfAQueueStoppedBeforeRunDoesNotRun) {
  SharedPool pool(2);
  auto queue = Queue(pool);
  bool ran = false;
  CallerRuns caller_runs;
  queue->Post([&] { ran = true; });
  queue->Stop();
  caller_runs.Run();
  EXPECT_FALSE(ran);
  queue->Join();  // idle: returns
}

TEST(SerialQueue, JoinFromAnotherThreadWaitsForTheKeptItem) {
  SharedPool pool(2);
  auto queue = Queue(pool);
  std::atomic<bool> done{false};
  std::promise<void> joined;
  std::thread joiner;
  {
    CallerRuns caller_runs;
    queue->Post([&] { done = true; });
    queue->Stop();
    joiner = std::thread([&] {
      queue->Join();
      joined.set_value();
    });
    // The kept item counts as running: the joiner waits for Run (here, a drop).
    EXPECT_EQ(joined.get_future().wait_for(std::chrono::milliseconds(100)),
              std::future_status::timeout);
    caller_runs.Run();
  }
  joiner.join();
  EXPECT_FALSE(done);
}

TEST(SerialQueue, AnItemPostedFromAKeptItemGoesToThePool) {
  SharedPool pool(2);
  auto queue = Queue(pool);
  auto other = Queue(pool);
  std::promise<std::thread::id> inner;
  {
    CallerRuns caller_runs;
    queue->Post([&] { other->Post([&] { inner.set_value(std::this_thread::get_id()); }); });
    caller_runs.Run();
  }
  ExpectRanElsewhere(inner);
}

}  // namespace
}  // namespace weft::worker
