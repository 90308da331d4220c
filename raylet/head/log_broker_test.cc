#include "raylet/head/log_broker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace weft::head {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

proto::LogLine Line(const std::string& job, const std::string& text) {
  proto::LogLine line;
  line.set_job_id(job);
  line.set_text(text);
  line.set_stream(proto::LOG_STDOUT);
  return line;
}

std::vector<std::string> Texts(const std::vector<proto::LogLine>& lines) {
  std::vector<std::string> out;
  for (const auto& line : lines) out.push_back(line.text());
  return out;
}

std::vector<uint64_t> Seqs(const std::vector<proto::LogLine>& lines) {
  std::vector<uint64_t> out;
  for (const auto& line : lines) out.push_back(line.seq());
  return out;
}

constexpr size_t kAll = 1'000'000;

TEST(LogBroker, SubscriberGetsLinesInOrderNumberedFromOne) {
  LogBroker broker;
  int woken = 0;
  auto sub = broker.Subscribe("job-1", [&] { ++woken; });
  broker.Publish({Line("job-1", "a"), Line("job-1", "b")});
  broker.Publish({Line("job-1", "c")});
  EXPECT_EQ(woken, 2);
  const auto lines = sub->Take(kAll, kAll);
  EXPECT_THAT(Texts(lines), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Seqs(lines), ElementsAre(1, 2, 3));
  EXPECT_TRUE(sub->Take(kAll, kAll).empty());
  broker.Unsubscribe(sub);
}

TEST(LogBroker, JobsAreIsolatedAndNumberedSeparately) {
  LogBroker broker;
  auto one = broker.Subscribe("job-1", [] {});
  auto two = broker.Subscribe("job-2", [] {});
  broker.Publish({Line("job-1", "1a"), Line("job-2", "2a"), Line("job-1", "1b"), Line("", "x")});
  const auto first = one->Take(kAll, kAll), second = two->Take(kAll, kAll);
  EXPECT_THAT(Texts(first), ElementsAre("1a", "1b"));
  EXPECT_THAT(Seqs(first), ElementsAre(1, 2));
  EXPECT_THAT(Texts(second), ElementsAre("2a"));
  EXPECT_THAT(Seqs(second), ElementsAre(1));
  EXPECT_EQ(broker.LastSeq("job-1"), 2u);
  EXPECT_EQ(broker.LastSeq("job-2"), 1u);
  EXPECT_EQ(broker.LastSeq("job-3"), 0u);
}

TEST(LogBroker, EverySubscriberOfAJobGetsEveryLine) {
  LogBroker broker;
  auto a = broker.Subscribe("job-1", [] {});
  auto b = broker.Subscribe("job-1", [] {});
  broker.Publish({Line("job-1", "x")});
  EXPECT_THAT(Texts(a->Take(kAll, kAll)), ElementsAre("x"));
  EXPECT_THAT(Texts(b->Take(kAll, kAll)), ElementsAre("x"));
}

TEST(LogBroker, TakeStopsAtTheLineAndByteLimitsButAlwaysReturnsOneLine) {
  LogBroker broker;
  auto sub = broker.Subscribe("job-1", [] {});
  broker.Publish({Line("job-1", std::string(10, 'a')), Line("job-1", std::string(10, 'b')),
                  Line("job-1", "c"), Line("job-1", "d")});
  EXPECT_EQ(sub->Take(kAll, 5).size(), 1u);   // one line even past the byte limit
  EXPECT_EQ(sub->Take(kAll, 11).size(), 2u);  // "bbbbbbbbbb" then "c": stops past 11 bytes
  EXPECT_THAT(Texts(sub->Take(1, kAll)), ElementsAre("d"));
}

TEST(LogBroker, OverflowDropsTheOldestAndSaysHowManyFirst) {
  LogBroker broker({.subscriber_queue = 3, .backlog = 10});
  auto sub = broker.Subscribe("job-1", [] {});
  for (int i = 1; i <= 8; ++i) broker.Publish({Line("job-1", std::to_string(i))});
  const auto lines = sub->Take(kAll, kAll);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].stream(), proto::LOG_STDERR);
  EXPECT_THAT(lines[0].text(), HasSubstr("5 lines of worker output dropped"));
  EXPECT_EQ(lines[0].seq(), 5u);  // the newest dropped line
  EXPECT_THAT(Texts({lines.begin() + 1, lines.end()}), ElementsAre("6", "7", "8"));
  EXPECT_EQ(sub->dropped(), 5u);
  broker.Publish({Line("job-1", "9")});
  EXPECT_THAT(Texts(sub->Take(kAll, kAll)), ElementsAre("9"));  // the notice came only once
}

TEST(LogBroker, ALateSubscriberGetsTheBacklogThenNewLines) {
  LogBroker broker;
  broker.Publish({Line("job-1", "constructor"), Line("job-2", "other job")});
  auto sub = broker.Subscribe("job-1", [] {});
  broker.Publish({Line("job-1", "call")});
  const auto lines = sub->Take(kAll, kAll);
  EXPECT_THAT(Texts(lines), ElementsAre("constructor", "call"));
  EXPECT_THAT(Seqs(lines), ElementsAre(1, 2));
  // The backlog went to that subscriber; the next one starts from new lines.
  auto second = broker.Subscribe("job-1", [] {});
  EXPECT_TRUE(second->Take(kAll, kAll).empty());
}

TEST(LogBroker, BacklogKeepsOnlyTheNewestLinesAndReportsTheRest) {
  LogBroker broker({.subscriber_queue = 100, .backlog = 2});
  for (int i = 1; i <= 5; ++i) broker.Publish({Line("job-1", std::to_string(i))});
  auto sub = broker.Subscribe("job-1", [] {});
  const auto lines = sub->Take(kAll, kAll);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0].text(), HasSubstr("3 lines of worker output dropped"));
  EXPECT_THAT(Texts({lines.begin() + 1, lines.end()}), ElementsAre("4", "5"));
  EXPECT_EQ(broker.LastSeq("job-1"), 5u);
}

TEST(LogBroker, LinesAfterUnsubscribeGoToTheBacklogAndWakeNobody) {
  LogBroker broker;
  int woken = 0;
  auto sub = broker.Subscribe("job-1", [&] { ++woken; });
  broker.Unsubscribe(sub);
  broker.Publish({Line("job-1", "later")});
  EXPECT_EQ(woken, 0);
  EXPECT_TRUE(sub->Take(kAll, kAll).empty());
  auto next = broker.Subscribe("job-1", [] {});
  EXPECT_THAT(Texts(next->Take(kAll, kAll)), ElementsAre("later"));
}

TEST(LogBroker, FlushSeqCountsEveryPublishedLineEvenDroppedOnes) {
  LogBroker broker({.subscriber_queue = 1, .backlog = 1});
  broker.Publish({Line("job-1", "a"), Line("job-1", "b"), Line("job-1", "c")});
  EXPECT_EQ(broker.LastSeq("job-1"), 3u);
  auto sub = broker.Subscribe("job-1", [] {});
  const auto lines = sub->Take(kAll, kAll);
  // The driver waiting for seq 3 sees it: the newest line survives every drop.
  EXPECT_EQ(lines.back().seq(), 3u);
}

TEST(LogBroker, CloseAllFinishesSubscriptionsOnceDrainedAndWakesThem) {
  LogBroker broker;
  int woken = 0;
  auto sub = broker.Subscribe("job-1", [&] { ++woken; });
  broker.Publish({Line("job-1", "last words")});
  broker.CloseAll();
  EXPECT_EQ(woken, 2);
  EXPECT_FALSE(sub->Finished());
  EXPECT_EQ(sub->Take(kAll, kAll).size(), 1u);
  EXPECT_TRUE(sub->Finished());
  EXPECT_TRUE(broker.Subscribe("job-1", [] {})->Finished());
}

TEST(LogBroker, QuietUnsubscribedJobsAreForgottenBeyondMaxJobs) {
  LogBroker broker({.max_jobs = 2});
  auto keep = broker.Subscribe("job-1", [] {});
  broker.Publish({Line("job-1", "a"), Line("job-2", "b")});
  broker.Publish({Line("job-3", "c")});  // job-2 is the quietest without a subscriber
  EXPECT_EQ(broker.LastSeq("job-1"), 1u);
  EXPECT_EQ(broker.LastSeq("job-2"), 0u);
  EXPECT_EQ(broker.LastSeq("job-3"), 1u);
}

TEST(LogBroker, ConcurrentPublishersKeepEachPublishersOrderAndLoseNothing) {
  LogBroker broker({.subscriber_queue = 100000});
  std::atomic<int> woken = 0;
  auto sub = broker.Subscribe("job-1", [&] { ++woken; });
  constexpr int kPerThread = 2000;
  auto publish = [&](const std::string& who) {
    for (int i = 0; i < kPerThread; ++i) broker.Publish({Line("job-1", who + std::to_string(i))});
  };
  std::thread a(publish, "a"), b(publish, "b");
  a.join();
  b.join();
  const auto lines = sub->Take(kAll, kAll);
  ASSERT_EQ(lines.size(), 2u * kPerThread);
  int next_a = 0, next_b = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].seq(), i + 1);
    const std::string& text = lines[i].text();
    int& next = text[0] == 'a' ? next_a : next_b;
    EXPECT_EQ(text.substr(1), std::to_string(next++));
  }
}

}  // namespace
}  // namespace weft::head
