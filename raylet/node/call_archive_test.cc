#include "raylet/node/call_archive.h"

#include <gtest/gtest.h>

namespace weft::node {
namespace {

proto::WorkerInfo Worker(const std::string& id, const std::string& job) {
  proto::WorkerInfo worker;
  worker.set_worker_id(id);
  worker.set_job_id(job);
  return worker;
}

// `n` calls named m0..m<n-1>, oldest first.
proto::GetCallEventsReply Calls(int n) {
  proto::GetCallEventsReply calls;
  for (int i = 0; i < n; ++i) {
    auto* event = calls.add_events();
    event->set_method("m" + std::to_string(i));
    event->set_started_us(i);
  }
  return calls;
}

std::vector<std::string> WorkerIds(const std::vector<proto::WorkerCallLog>& logs) {
  std::vector<std::string> ids;
  for (const auto& log : logs) ids.push_back(log.worker().worker_id());
  return ids;
}

TEST(CallArchiveTest, ListsTheLogsOfOneJobOrEveryJobOldestFirst) {
  CallArchive archive;
  archive.Keep(Worker("w1", "j1"), Calls(2));
  archive.Keep(Worker("w2", "j2"), Calls(3));
  archive.Keep(Worker("w3", "j1"), Calls(1));

  EXPECT_EQ(WorkerIds(archive.List("j1")), (std::vector<std::string>{"w1", "w3"}));
  EXPECT_EQ(WorkerIds(archive.List("")), (std::vector<std::string>{"w1", "w2", "w3"}));
  EXPECT_TRUE(archive.List("j9").empty());
  const auto j2 = archive.List("j2");
  ASSERT_EQ(j2.size(), 1u);
  EXPECT_EQ(j2[0].calls().events_size(), 3);
  EXPECT_EQ(archive.calls(), 6u);
}

TEST(CallArchiveTest, ANewLogThatDoesNotFitPushesOutTheOldestWholeLogs) {
  CallArchive archive(/*most_calls=*/10);
  archive.Keep(Worker("w1", "j"), Calls(4));
  archive.Keep(Worker("w2", "j"), Calls(4));
  archive.Keep(Worker("w3", "j"), Calls(4));  // 12 > 10: w1 goes

  EXPECT_EQ(WorkerIds(archive.List("j")), (std::vector<std::string>{"w2", "w3"}));
  EXPECT_EQ(archive.calls(), 8u);
  archive.Keep(Worker("w4", "j"), Calls(2));  // fits exactly
  EXPECT_EQ(WorkerIds(archive.List("j")), (std::vector<std::string>{"w2", "w3", "w4"}));
  EXPECT_EQ(archive.calls(), 10u);
}

TEST(CallArchiveTest, ALogLargerThanTheBoundKeepsItsNewestCallsAndCountsTheRestDropped) {
  CallArchive archive(/*most_calls=*/3);
  archive.Keep(Worker("w1", "j"), Calls(1));
  auto big = Calls(5);
  big.set_dropped(7);  // the worker's own ring had dropped some already
  archive.Keep(Worker("w2", "j"), std::move(big));

  const auto logs = archive.List("j");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].worker().worker_id(), "w2");
  ASSERT_EQ(logs[0].calls().events_size(), 3);
  EXPECT_EQ(logs[0].calls().events(0).method(), "m2");
  EXPECT_EQ(logs[0].calls().events(2).method(), "m4");
  EXPECT_EQ(logs[0].calls().dropped(), 9);
}

TEST(CallArchiveTest, ASecondLogOfOneWorkerReplacesItsFirst) {
  CallArchive archive;
  archive.Keep(Worker("w1", "j"), Calls(2));
  archive.Keep(Worker("w1", "j"), Calls(3));
  const auto logs = archive.List("j");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].calls().events_size(), 3);
  EXPECT_EQ(archive.calls(), 3u);
}

}  // namespace
}  // namespace weft::node
