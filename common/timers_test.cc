// Timers: what runs the deadlines of watches. Each runs once, not before its time and in the
// order of their times; one cancelled in time never runs; after Stop nothing is taken.

#include "common/timers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace weft {
namespace {

using std::chrono::milliseconds;
using Clock = Timers::Clock;

struct Fired {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<int> order;
  std::vector<bool> on_time;

  std::function<void()> Note(int which, Clock::time_point when) {
    return [this, which, when] {
      std::lock_guard lock(mu);
      order.push_back(which);
      on_time.push_back(Clock::now() >= when);
      changed.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return order.size() >= n; });
  }
};

TEST(TimersTest, EachRunsOnceNotBeforeItsTimeInTheOrderOfTheirTimes) {
  Timers timers;
  Fired fired;
  const auto now = Clock::now();
  for (int which : {3, 1, 2}) {
    const auto when = now + milliseconds(40 * which);
    EXPECT_NE(timers.At(when, fired.Note(which, when)), 0u);
  }
  const auto past = now - milliseconds(5);
  timers.At(past, fired.Note(0, past));  // already due: at once
  ASSERT_TRUE(fired.WaitFor(4));
  std::lock_guard lock(fired.mu);
  EXPECT_EQ(fired.order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(fired.on_time, (std::vector<bool>{true, true, true, true}));
}

TEST(TimersTest, OneCancelledInTimeNeverRuns) {
  Timers timers;
  Fired fired;
  const auto soon = Clock::now() + milliseconds(50);
  const uint64_t cancelled = timers.At(soon, fired.Note(1, soon));
  const auto later = soon + milliseconds(50);
  const uint64_t kept = timers.At(later, fired.Note(2, later));
  EXPECT_TRUE(timers.Cancel(cancelled));
  ASSERT_TRUE(fired.WaitFor(1));      // the later one ran, after the cancelled one's time
  EXPECT_FALSE(timers.Cancel(kept));  // it ran: nothing to take out
  std::lock_guard lock(fired.mu);
  EXPECT_EQ(fired.order, (std::vector<int>{2}));
}

TEST(TimersTest, AfterStopNothingIsTakenNorRun) {
  Timers timers;
  Fired fired;
  const auto soon = Clock::now() + milliseconds(20);
  timers.At(soon + std::chrono::hours(1), fired.Note(1, soon));
  timers.Stop();
  EXPECT_EQ(timers.At(soon, fired.Note(2, soon)), 0u);
  std::lock_guard lock(fired.mu);
  EXPECT_TRUE(fired.order.empty());
}

}  // namespace
}  // namespace weft
