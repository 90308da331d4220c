#include "raylet/head/placement.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

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

// Node ids, as NodeDirectory::AliveIds gives them.
std::shared_ptr<const std::vector<std::string>> Ids(std::vector<std::string> ids) {
  return std::make_shared<const std::vector<std::string>>(std::move(ids));
}

// A job's actors counted by node, as ActorManager counts them.
struct Counts {
  absl::flat_hash_map<std::string, int> hosted;
  int64_t looks = 0;
  SharedSpread::Hosted Lookup() {
    return [this](const std::string& node) {
      ++looks;
      auto it = hosted.find(node);
      return it == hosted.end() ? 0 : it->second;
    };
  }
};

TEST(PlacementTest, SharedActorsGoToANodeHostingFewest) {
  const auto nodes = Ids({"a", "b", "c"});
  Counts counts;
  counts.hosted = {{"a", 2}, {"b", 1}, {"c", 1}};
  SharedSpread spread;
  const std::string first = spread.Pick(nodes, counts.Lookup());
  EXPECT_TRUE(first == "b" || first == "c") << first;
  ++counts.hosted[first];
  const std::string second = spread.Pick(nodes, counts.Lookup());
  EXPECT_EQ(second, first == "b" ? "c" : "b");
  EXPECT_EQ(SharedSpread().Pick(Ids({}), counts.Lookup()), "");
}

TEST(PlacementTest, ThirtySharedActorsSpreadEvenlyOverThreeNodes) {
  const auto nodes = Ids({"a", "b", "c"});
  Counts counts;
  SharedSpread spread;
  for (int i = 0; i < 30; ++i) ++counts.hosted[spread.Pick(nodes, counts.Lookup())];
  EXPECT_EQ(counts.hosted["a"], 10);
  EXPECT_EQ(counts.hosted["b"], 10);
  EXPECT_EQ(counts.hosted["c"], 10);
}

TEST(PlacementTest, ANodeWhoseActorsDiedAndANewNodeAreFilledFirst) {
  Counts counts;
  SharedSpread spread;
  auto nodes = Ids({"a", "b", "c"});
  for (int i = 0; i < 9; ++i) ++counts.hosted[spread.Pick(nodes, counts.Lookup())];
  counts.hosted["b"] = 1;  // two of its actors died
  spread.Lowered(1);
  EXPECT_EQ(spread.Pick(nodes, counts.Lookup()), "b");
  ++counts.hosted["b"];
  EXPECT_EQ(spread.Pick(nodes, counts.Lookup()), "b");
  ++counts.hosted["b"];
  nodes = Ids({"a", "b", "c", "d"});  // a node joined
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(spread.Pick(nodes, counts.Lookup()), "d");
    ++counts.hosted["d"];
  }
}

// With a thousand nodes, a pick looks at two nodes on average, not at all of them.
TEST(PlacementTest, APickAmongAThousandNodesLooksAtFewOfThem) {
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back("node-" + std::to_string(i));
  const auto nodes = Ids(std::move(ids));
  Counts counts;
  SharedSpread spread;
  for (int i = 0; i < 100000; ++i) ++counts.hosted[spread.Pick(nodes, counts.Lookup())];
  for (const auto& id : *nodes) ASSERT_EQ(counts.hosted[id], 100) << id;
  EXPECT_LE(counts.looks, 2 * 100000);
}

}  // namespace
}  // namespace weft::head
