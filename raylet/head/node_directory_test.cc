#include "raylet/head/node_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

namespace weft::head {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

proto::NodeInfo MakeNode(const std::string& id, double cpus = 4) {
  proto::NodeInfo node;
  node.set_node_id(id);
  node.set_address("127.0.0.1:" + id);
  (*node.mutable_total())["CPU"] = cpus;
  return node;
}

std::vector<std::string> Ids(const std::vector<proto::NodeInfo>& nodes) {
  std::vector<std::string> ids;
  for (const auto& n : nodes) ids.push_back(n.node_id());
  return ids;
}

proto::HeartbeatRequest Beat(const std::string& id, const ResourceMap& available = {},
                             int workers = 0, uint64_t version = 0) {
  proto::HeartbeatRequest beat;
  beat.set_node_id(id);
  beat.mutable_available()->insert(available.begin(), available.end());
  beat.set_num_workers(workers);
  beat.set_resource_version(version);
  return beat;
}

// A directory whose clock only moves when the test says so.
class NodeDirectoryTest : public ::testing::Test {
 protected:
  NodeDirectory::Options Opts() {
    NodeDirectory::Options options;
    options.node_timeout = absl::Seconds(3);
    options.stall_threshold = absl::Seconds(30);
    return options;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  NodeDirectory dir_{Opts(), [this] { return now_; }};
};

TEST_F(NodeDirectoryTest, RegisteredNodeIsAliveWithAllResourcesAvailable) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 4)).ok());
  auto node = dir_.Get("n1");
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(node->state(), proto::NODE_ALIVE);
  EXPECT_EQ(node->available().at("CPU"), 4);
  EXPECT_NEAR(node->registered_unix_ms(), absl::ToUnixMillis(absl::Now()), 60'000);
}

TEST_F(NodeDirectoryTest, RegisterWithoutIdOrAddressIsInvalidArgument) {
  proto::NodeInfo no_id = MakeNode("n1");
  no_id.clear_node_id();
  proto::NodeInfo no_address = MakeNode("n2");
  no_address.clear_address();
  EXPECT_EQ(dir_.Register(no_id).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir_.Register(no_address).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dir_.List(), IsEmpty());
}

TEST_F(NodeDirectoryTest, RegisterTwiceWithSameIdIsAlreadyExists) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  EXPECT_EQ(dir_.Register(MakeNode("n1")).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(NodeDirectoryTest, AliveIdsAreOneSnapshotUntilANodeJoinsOrDies) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  ASSERT_TRUE(dir_.Register(MakeNode("n2")).ok());
  const auto first = dir_.AliveIds();
  EXPECT_EQ(*first, (std::vector<std::string>{"n1", "n2"}));
  proto::HeartbeatRequest heartbeat;
  heartbeat.set_node_id("n1");
  ASSERT_TRUE(dir_.Heartbeat(heartbeat).ok());
  EXPECT_EQ(dir_.AliveIds(), first) << "a heartbeat changes no membership";
  ASSERT_TRUE(dir_.Register(MakeNode("n3")).ok());
  EXPECT_EQ(*dir_.AliveIds(), (std::vector<std::string>{"n1", "n2", "n3"}));
  ASSERT_TRUE(dir_.Unregister("n2", "bye").ok());
  EXPECT_EQ(*dir_.AliveIds(), (std::vector<std::string>{"n1", "n3"}));
  EXPECT_EQ(*first, (std::vector<std::string>{"n1", "n2"})) << "a snapshot never changes";
}

TEST_F(NodeDirectoryTest, HeartbeatUpdatesAvailableAndWorkerCount) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 4)).ok());
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {{"CPU", 1}}, 3)).ok());
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 1);
  EXPECT_EQ(dir_.Get("n1")->num_workers(), 3);
}

TEST_F(NodeDirectoryTest, HeartbeatFromUnknownNodeIsNotFound) {
  EXPECT_EQ(dir_.Heartbeat(Beat("nope")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(NodeDirectoryTest, HeartbeatFromDeadNodeIsFailedPrecondition) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  ASSERT_TRUE(dir_.Unregister("n1", "bye").ok());
  EXPECT_EQ(dir_.Heartbeat(Beat("n1")).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_.Get("n1")->state(), proto::NODE_DEAD);
}

TEST_F(NodeDirectoryTest, UnregisterMarksDeadWithReason) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  ASSERT_TRUE(dir_.Unregister("n1", "stopped by user").ok());
  EXPECT_EQ(dir_.Get("n1")->state(), proto::NODE_DEAD);
  EXPECT_EQ(dir_.Get("n1")->death_reason(), "stopped by user");
}

TEST_F(NodeDirectoryTest, UnregisterUnknownNodeIsNotFound) {
  EXPECT_EQ(dir_.Unregister("nope", "bye").code(), absl::StatusCode::kNotFound);
}

TEST_F(NodeDirectoryTest, NodeSilentForTimeoutIsStillAlive) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  now_ += absl::Seconds(3);
  EXPECT_THAT(dir_.MarkSilentNodesDead(), IsEmpty());
  EXPECT_EQ(dir_.Get("n1")->state(), proto::NODE_ALIVE);
}

TEST_F(NodeDirectoryTest, NodeSilentLongerThanTimeoutIsMarkedDead) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  now_ += absl::Seconds(3) + absl::Milliseconds(1);
  EXPECT_THAT(dir_.MarkSilentNodesDead(), ElementsAre("n1"));
  EXPECT_EQ(dir_.Get("n1")->state(), proto::NODE_DEAD);
  EXPECT_FALSE(dir_.Get("n1")->death_reason().empty());
}

TEST_F(NodeDirectoryTest, HeartbeatKeepsNodeAliveAndOnlySilentOnesDie) {
  ASSERT_TRUE(dir_.Register(MakeNode("quiet")).ok());
  ASSERT_TRUE(dir_.Register(MakeNode("chatty")).ok());
  now_ += absl::Seconds(2);
  ASSERT_TRUE(dir_.Heartbeat(Beat("chatty")).ok());
  now_ += absl::Seconds(2);
  EXPECT_THAT(dir_.MarkSilentNodesDead(), ElementsAre("quiet"));
  EXPECT_THAT(Ids(dir_.ListAlive()), ElementsAre("chatty"));
}

TEST_F(NodeDirectoryTest, DeadNodeIsReportedOnlyOnce) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  now_ += absl::Seconds(10);
  EXPECT_THAT(dir_.MarkSilentNodesDead(), ElementsAre("n1"));
  now_ += absl::Seconds(10);
  EXPECT_THAT(dir_.MarkSilentNodesDead(), IsEmpty());
}

TEST_F(NodeDirectoryTest, RegisterRefusesNonFiniteOrNegativeResources) {
  proto::NodeInfo node = MakeNode("n1");
  (*node.mutable_total())["GPU"] = std::nan("");
  EXPECT_EQ(dir_.Register(node).code(), absl::StatusCode::kInvalidArgument);
  (*node.mutable_total())["GPU"] = -1;
  EXPECT_EQ(dir_.Register(node).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dir_.List(), IsEmpty());
}

TEST_F(NodeDirectoryTest, ReservationHoldsUntilAHeartbeatCountsTheWorker) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 4)).ok());
  auto held = dir_.Reserve({{"CPU", 1}});
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->node.node_id(), "n1");
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 3);
  dir_.SettleAfter(*held, /*version=*/7);
  // A heartbeat sent before the worker started still shows 4 free: the hold stays.
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {{"CPU", 4}}, 0, 6)).ok());
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 3);
  // The node's own count now includes the worker: the hold ends.
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {{"CPU", 3}}, 1, 7)).ok());
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 3);
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {{"CPU", 4}}, 0, 8)).ok());
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 4);
}

TEST_F(NodeDirectoryTest, UnsettledReservationOutlivesHeartbeats) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 1)).ok());
  auto held = dir_.Reserve({{"CPU", 1}});
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {{"CPU", 1}}, 0, 100)).ok());
  EXPECT_EQ(dir_.Reserve({{"CPU", 1}}).status().code(), absl::StatusCode::kResourceExhausted);
  dir_.Release(*held);
  EXPECT_TRUE(dir_.Reserve({{"CPU", 1}}).ok());
}

TEST_F(NodeDirectoryTest, ConcurrentReservationsNeverShareTheLastCpu) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 2)).ok());
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { granted += dir_.Reserve({{"CPU", 1}}).ok(); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 2);
}

TEST_F(NodeDirectoryTest, ReserveSpreadsOverNodes) {
  ASSERT_TRUE(dir_.Register(MakeNode("a", 1)).ok());
  ASSERT_TRUE(dir_.Register(MakeNode("b", 1)).ok());
  auto first = dir_.Reserve({{"CPU", 1}});
  auto second = dir_.Reserve({{"CPU", 1}});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->node.node_id(), second->node.node_id());
  EXPECT_EQ(dir_.Reserve({{"CPU", 1}}).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(NodeDirectoryTest, AnOlderSnapshotArrivingLateIsIgnoredButKeepsTheNodeAlive) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 4)).ok());
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {{"CPU", 1}}, 3, 5)).ok());
  now_ += absl::Seconds(2);
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {{"CPU", 4}}, 0, 4)).ok());
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 1);
  EXPECT_EQ(dir_.Get("n1")->num_workers(), 3);
  now_ += absl::Seconds(2);
  EXPECT_THAT(dir_.MarkSilentNodesDead(), IsEmpty());
}

TEST_F(NodeDirectoryTest, DeathCountsTheWorkersLost) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  ASSERT_TRUE(dir_.Heartbeat(Beat("n1", {}, 2)).ok());
  now_ += absl::Seconds(4);
  EXPECT_THAT(dir_.MarkSilentNodesDead(), ElementsAre("n1"));
  EXPECT_THAT(dir_.Get("n1")->death_reason(), ::testing::HasSubstr("2 workers lost"));
  EXPECT_EQ(dir_.Get("n1")->num_workers(), 0);
}

TEST(NodeDirectoryStallTest, AStalledHeadJudgesNoNodeUntilHeartbeatsCatchUp) {
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  NodeDirectory dir({.node_timeout = absl::Seconds(3), .stall_threshold = absl::Seconds(1)},
                    [&] { return now; });
  ASSERT_TRUE(dir.Register(MakeNode("alive")).ok());
  ASSERT_TRUE(dir.Register(MakeNode("gone")).ok());
  EXPECT_THAT(dir.MarkSilentNodesDead(), IsEmpty());
  now += absl::Seconds(10);  // the head was suspended: every node looks silent
  EXPECT_THAT(dir.MarkSilentNodesDead(), IsEmpty());
  // After the stall, nodes are judged on the time the head was running (the stall minus
  // one usual check interval of 250 ms is credited).
  for (int i = 1; i <= 12; ++i) {
    now += absl::Milliseconds(250);
    ASSERT_TRUE(dir.Heartbeat(Beat("alive")).ok());
    const auto dead = dir.MarkSilentNodesDead();
    if (i < 12) {
      EXPECT_THAT(dead, IsEmpty()) << "after " << i * 250 << " ms";
    } else {
      EXPECT_THAT(dead, ElementsAre("gone"));  // 3.25 s of running silence
    }
  }
  EXPECT_THAT(Ids(dir.ListAlive()), ElementsAre("alive"));
}

TEST_F(NodeDirectoryTest, ListIsOldestFirstAndListAliveSkipsDead) {
  for (const char* id : {"c", "a", "d", "b"}) ASSERT_TRUE(dir_.Register(MakeNode(id)).ok());
  ASSERT_TRUE(dir_.Unregister("d", "bye").ok());
  EXPECT_THAT(Ids(dir_.List()), ElementsAre("c", "a", "d", "b"));
  EXPECT_THAT(Ids(dir_.ListAlive()), ElementsAre("c", "a", "b"));
}

TEST_F(NodeDirectoryTest, GetUnknownNodeIsEmpty) { EXPECT_FALSE(dir_.Get("nope").has_value()); }

TEST(NodeDirectoryStallTest, TheStallCreditNeverPushesAHeartbeatIntoTheFuture) {
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  NodeDirectory dir({.node_timeout = absl::Seconds(3), .stall_threshold = absl::Seconds(1)},
                    [&] { return now; });
  ASSERT_TRUE(dir.Register(MakeNode("n1")).ok());
  now += absl::Seconds(10);
  ASSERT_TRUE(dir.Heartbeat(Beat("n1")).ok());  // handled before the late check
  EXPECT_THAT(dir.MarkSilentNodesDead(), IsEmpty());
  for (int i = 1; i <= 13; ++i) {  // then silent, with checks on time again
    now += absl::Milliseconds(250);
    dir.MarkSilentNodesDead();
  }
  EXPECT_EQ(dir.Get("n1")->state(), proto::NODE_DEAD);  // 3.25 s after its last heartbeat
}

// Every DEAD node dropped beyond the bound is forgotten through the hook, whichever way it was
// dropped (a goodbye, silence, a restarted head's recovery), once each and in the order they
// died; ALIVE nodes never are.
TEST(NodeDirectoryForgetTest, EveryDroppedNodeIsForgottenOnceWhicheverWayItWasDropped) {
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  std::vector<std::string> forgotten;
  const auto remember = [&](const std::string& id) { forgotten.push_back(id); };
  const NodeDirectory::Options options{.node_timeout = absl::Seconds(3), .max_dead_nodes = 1};
  auto store = NewMemoryStore();
  {
    NodeDirectory::Options unbounded = options;
    unbounded.max_dead_nodes = 100;
    NodeDirectory before(
        unbounded, [&] { return now; }, remember);
    ASSERT_TRUE(before.Recover(*store, absl::Seconds(10)).ok());
    for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(before.Register(MakeNode(id)).ok());
    for (const char* id : {"c", "a"}) ASSERT_TRUE(before.Unregister(id, "stopped").ok());
  }
  EXPECT_THAT(forgotten, IsEmpty());
  NodeDirectory dir(
      options, [&] { return now; }, remember);
  ASSERT_TRUE(dir.Recover(*store, absl::Seconds(1)).ok());
  EXPECT_THAT(forgotten, ElementsAre("c"));
  ASSERT_TRUE(dir.Register(MakeNode("d")).ok());
  ASSERT_TRUE(dir.Unregister("d", "stopped").ok());
  EXPECT_THAT(forgotten, ElementsAre("c", "a"));
  now += absl::Seconds(5);  // b is silent
  EXPECT_THAT(dir.MarkSilentNodesDead(), ElementsAre("b"));
  EXPECT_THAT(forgotten, ElementsAre("c", "a", "d"));
  EXPECT_THAT(Ids(dir.List()), ElementsAre("b"));
}

}  // namespace
}  // namespace weft::head
