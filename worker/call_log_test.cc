#include "worker/call_log.h"

#include <gtest/gtest.h>

#include <map>

namespace weft::worker {
namespace {

// The stats of each method, by "Class.method" (".function" for a task).
std::map<std::string, proto::MethodStats> ByName(const proto::GetMethodStatsReply& reply) {
  std::map<std::string, proto::MethodStats> out;
  for (const auto& m : reply.methods()) out[m.class_name() + "." + m.method()] = m;
  return out;
}

TEST(CallLogTest, CountsAndTimesEachMethodOfEachClassAndEachTask) {
  int lookups = 0;
  CallLog log(100, [&](const std::string& id) {
    ++lookups;
    return id == "a1" ? std::string("Counter") : std::string();
  });
  const std::string none;
  auto first = log.Received("a1", "Incr", 0);
  auto second = log.Received("a1", "Incr", 0);
  log.Received("a1", "Incr", 0);                // still in flight
  log.Answered(first, none, 10, 510, false);    // ran 500 us
  log.Answered(second, none, 20, 2'020, true);  // ran 2 ms, failed
  auto task = log.Received(none, "square", 100);
  log.Answered(task, none, 0, 150, true);  // never ran
  EXPECT_EQ(lookups, 1) << "an actor's class is asked for once";

  auto stats = ByName(log.MethodStats());
  ASSERT_EQ(stats.size(), 2u);
  const auto& counter = stats.at("Counter.Incr");
  EXPECT_EQ(counter.received(), 3);
  EXPECT_EQ(counter.finished(), 2);
  EXPECT_EQ(counter.failed(), 1);
  EXPECT_DOUBLE_EQ(counter.latency_sum_seconds(), 0.0025);
  EXPECT_DOUBLE_EQ(counter.queued_sum_seconds(), 0.00003);
  ASSERT_EQ(counter.latency_counts_size(), counter.latency_bounds_seconds_size() + 1);
  std::map<double, int64_t> by_bound;  // the calls counted under each bound
  for (int i = 0; i < counter.latency_bounds_seconds_size(); ++i) {
    if (counter.latency_counts(i) > 0)
      by_bound[counter.latency_bounds_seconds(i)] = counter.latency_counts(i);
  }
  EXPECT_EQ(by_bound, (std::map<double, int64_t>{{0.0005, 1}, {0.0025, 1}}));
  const auto& square = stats.at(".square");
  EXPECT_EQ(square.finished(), 1);
  EXPECT_EQ(square.failed(), 1);
  EXPECT_EQ(square.latency_sum_seconds(), 0) << "a call that never ran has no run time";
}

TEST(CallLogTest, KeepsTheNewestEventsOldestFirstAndCountsTheDropped) {
  CallLog log(2, [](const std::string&) { return std::string("A"); });
  for (int i = 1; i <= 3; ++i) log.Answered(log.Received("a", "f", i), "named", i, i + 1, i == 3);
  const auto events = log.Events();
  ASSERT_EQ(events.events_size(), 2);
  EXPECT_EQ(events.events(0).arrived_us(), 2);
  EXPECT_EQ(events.events(1).arrived_us(), 3);
  EXPECT_EQ(events.events(1).actor_id(), "a");
  EXPECT_EQ(events.events(1).class_name(), "A");
  EXPECT_EQ(events.events(1).method(), "f");
  EXPECT_EQ(events.events(1).name(), "named");
  EXPECT_EQ(events.events(1).finished_us(), 4);
  EXPECT_TRUE(events.events(1).failed());
  EXPECT_EQ(events.dropped(), 1);
  EXPECT_EQ(ByName(log.MethodStats()).at("A.f").finished(), 3) << "counts keep every call";
}

TEST(CallLogTest, WithNoRoomItKeepsCountsOnly) {
  CallLog log(0, nullptr);
  log.Answered(log.Received("", "g", 1), "", 2, 3, false);
  EXPECT_EQ(log.Events().events_size(), 0);
  EXPECT_EQ(ByName(log.MethodStats()).at(".g").finished(), 1);
}

}  // namespace
}  // namespace weft::worker
