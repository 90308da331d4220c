#include "raylet/head/node_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

// A directory whose clock only moves when the test says so.
class NodeDirectoryTest : public ::testing::Test {
 protected:
  NodeDirectory::Options Opts() {
    NodeDirectory::Options options;
    options.node_timeout = absl::Seconds(3);
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
  EXPECT_EQ(node->registered_unix_ms(), absl::ToUnixMillis(now_));
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

TEST_F(NodeDirectoryTest, HeartbeatUpdatesAvailableAndWorkerCount) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 4)).ok());
  ProtoResources available;
  available["CPU"] = 1;
  ASSERT_TRUE(dir_.Heartbeat("n1", available, 3).ok());
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 1);
  EXPECT_EQ(dir_.Get("n1")->num_workers(), 3);
}

TEST_F(NodeDirectoryTest, HeartbeatFromUnknownNodeIsNotFound) {
  EXPECT_EQ(dir_.Heartbeat("nope", {}, 0).code(), absl::StatusCode::kNotFound);
}

TEST_F(NodeDirectoryTest, HeartbeatFromDeadNodeIsFailedPrecondition) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1")).ok());
  ASSERT_TRUE(dir_.Unregister("n1", "bye").ok());
  EXPECT_EQ(dir_.Heartbeat("n1", {}, 0).code(), absl::StatusCode::kFailedPrecondition);
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
  ASSERT_TRUE(dir_.Heartbeat("chatty", {}, 0).ok());
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

TEST_F(NodeDirectoryTest, ReserveSubtractsUntilNextHeartbeat) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 4)).ok());
  dir_.Reserve("n1", {{"CPU", 1}});
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 3);
  ProtoResources available;
  available["CPU"] = 4;
  ASSERT_TRUE(dir_.Heartbeat("n1", available, 0).ok());
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 4);
}

TEST_F(NodeDirectoryTest, ReserveNeverGoesBelowZero) {
  ASSERT_TRUE(dir_.Register(MakeNode("n1", 1)).ok());
  dir_.Reserve("n1", {{"CPU", 5}});
  EXPECT_EQ(dir_.Get("n1")->available().at("CPU"), 0);
}

TEST_F(NodeDirectoryTest, ListIsOldestFirstAndListAliveSkipsDead) {
  for (const char* id : {"c", "a", "d", "b"}) ASSERT_TRUE(dir_.Register(MakeNode(id)).ok());
  ASSERT_TRUE(dir_.Unregister("d", "bye").ok());
  EXPECT_THAT(Ids(dir_.List()), ElementsAre("c", "a", "d", "b"));
  EXPECT_THAT(Ids(dir_.ListAlive()), ElementsAre("c", "a", "b"));
}

TEST_F(NodeDirectoryTest, GetUnknownNodeIsEmpty) { EXPECT_FALSE(dir_.Get("nope").has_value()); }

}  // namespace
}  // namespace weft::head
