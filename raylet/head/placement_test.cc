#include "raylet/head/placement.h"

#include <gtest/gtest.h>

namespace weft::head {
namespace {

void SetAll(ProtoResources* resources, const ResourceMap& amounts) {
  for (const auto& [name, amount] : amounts) (*resources)[name] = amount;
}

// A node with `total` resources of which `available` are free.
proto::NodeInfo Node(const std::string& id, const ResourceMap& total,
                     const ResourceMap& available) {
  proto::NodeInfo node;
  node.set_node_id(id);
  node.set_state(proto::NODE_ALIVE);
  SetAll(node.mutable_total(), total);
  SetAll(node.mutable_available(), available);
  return node;
}

TEST(PlacementTest, PicksTheOnlyNodeThatCoversTheRequest) {
  const std::vector<proto::NodeInfo> nodes = {
      Node("cpu-only", {{"CPU", 8}}, {{"CPU", 8}}),
      Node("gpu", {{"CPU", 2}, {"GPU", 1}}, {{"CPU", 1}, {"GPU", 1}})};
  auto picked = PickNode(nodes, {{"CPU", 1}, {"GPU", 1}});
  ASSERT_TRUE(picked.ok()) << picked.status();
  EXPECT_EQ(picked->node_id(), "gpu");
}

TEST(PlacementTest, PrefersHighestFractionOfFreeCpu) {
  // "big" has more free CPUs (4 of 16) but "small" is less loaded (2 of 2).
  const std::vector<proto::NodeInfo> nodes = {Node("big", {{"CPU", 16}}, {{"CPU", 4}}),
                                              Node("small", {{"CPU", 2}}, {{"CPU", 2}}),
                                              Node("half", {{"CPU", 4}}, {{"CPU", 2}})};
  auto picked = PickNode(nodes, {{"CPU", 1}});
  ASSERT_TRUE(picked.ok()) << picked.status();
  EXPECT_EQ(picked->node_id(), "small");
}

TEST(PlacementTest, BusyButFeasibleIsResourceExhausted) {
  const std::vector<proto::NodeInfo> nodes = {Node("n1", {{"CPU", 2}}, {{"CPU", 0}})};
  EXPECT_EQ(PickNode(nodes, {{"CPU", 1}}).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(PlacementTest, MoreThanAnyNodeHasIsUnavailable) {
  const std::vector<proto::NodeInfo> nodes = {Node("n1", {{"CPU", 2}}, {{"CPU", 2}})};
  EXPECT_EQ(PickNode(nodes, {{"CPU", 3}}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PickNode(nodes, {{"GPU", 1}}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(PlacementTest, NoAliveNodesIsUnavailable) {
  EXPECT_EQ(PickNode({}, {{"CPU", 1}}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PickNode({}, {}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(PlacementTest, EmptyRequirementFitsAFullNode) {
  const std::vector<proto::NodeInfo> nodes = {Node("full", {{"CPU", 2}}, {{"CPU", 0}})};
  auto picked = PickNode(nodes, {});
  ASSERT_TRUE(picked.ok()) << picked.status();
  EXPECT_EQ(picked->node_id(), "full");
}

TEST(PlacementTest, ZeroAmountOfAnUnknownResourceIsIgnored) {
  const std::vector<proto::NodeInfo> nodes = {Node("n1", {{"CPU", 2}}, {{"CPU", 2}})};
  auto picked = PickNode(nodes, {{"CPU", 1}, {"GPU", 0}});
  ASSERT_TRUE(picked.ok()) << picked.status();
  EXPECT_EQ(picked->node_id(), "n1");
}

TEST(PlacementTest, SharedActorsGoToTheNodeHostingFewest) {
  const std::vector<proto::NodeInfo> nodes = {Node("a", {{"CPU", 2}}, {{"CPU", 0}}),
                                              Node("b", {{"CPU", 2}}, {{"CPU", 2}}),
                                              Node("c", {}, {})};
  EXPECT_EQ(PickSharedNode(nodes, {}), "a");  // ties: the earliest node
  EXPECT_EQ(PickSharedNode(nodes, {{"a", 2}, {"b", 1}, {"c", 1}}), "b");
  EXPECT_EQ(PickSharedNode(nodes, {{"a", 1}, {"b", 1}}), "c");  // free CPUs do not matter
  EXPECT_EQ(PickSharedNode({}, {}), "");
}

TEST(PlacementTest, ThirtySharedActorsSpreadEvenlyOverThreeNodes) {
  const std::vector<proto::NodeInfo> nodes = {Node("a", {}, {}), Node("b", {}, {}),
                                              Node("c", {}, {})};
  absl::flat_hash_map<std::string, int> hosted;
  for (int i = 0; i < 30; ++i) ++hosted[PickSharedNode(nodes, hosted)];
  EXPECT_EQ(hosted["a"], 10);
  EXPECT_EQ(hosted["b"], 10);
  EXPECT_EQ(hosted["c"], 10);
}

}  // namespace
}  // namespace weft::head
