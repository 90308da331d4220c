#include "cli/render.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/resources.h"

namespace weft::cli {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr double kGiB = 1 << 30;

void Set(ProtoResources* r, const std::string& name, double amount) { (*r)[name] = amount; }

// Two alive nodes and one dead one:
//   head  ALIVE  CPU 1/2   memory 1.0/4.0GiB  GPU 0/2  2 workers
//   n2    ALIVE  CPU 0/4   memory 0.0/8.0GiB           1 worker
//   n3    DEAD   CPU 8/8   memory 0.0/16.0GiB TPU 4/4
proto::ListNodesReply SampleReply() {
  proto::ListNodesReply reply;
  reply.set_cluster_id("c-42");
  auto* head = reply.add_nodes();
  head->set_node_id("aaaaaaaaaaaaaaaa");
  head->set_address("10.0.0.1:7000");
  head->set_is_head(true);
  head->set_state(proto::NODE_ALIVE);
  head->set_num_workers(2);
  head->set_registered_unix_ms(1'700'000'000'000);
  Set(head->mutable_total(), "CPU", 2);
  Set(head->mutable_total(), "memory", 4 * kGiB);
  Set(head->mutable_total(), "GPU", 2);
  Set(head->mutable_available(), "CPU", 1);
  Set(head->mutable_available(), "memory", 3 * kGiB);
  Set(head->mutable_available(), "GPU", 2);

  auto* n2 = reply.add_nodes();
  n2->set_node_id("bbbbbbbbbbbbbbbb");
  n2->set_address("10.0.0.2:7000");
  n2->set_state(proto::NODE_ALIVE);
  n2->set_num_workers(1);
  Set(n2->mutable_total(), "CPU", 4);
  Set(n2->mutable_total(), "memory", 8 * kGiB);
  *n2->mutable_available() = n2->total();

  auto* n3 = reply.add_nodes();
  n3->set_node_id("cccccccccccccccc");
  n3->set_address("10.0.0.3:7000");
  n3->set_state(proto::NODE_DEAD);
  n3->set_death_reason("no heartbeat for 4s");
  Set(n3->mutable_total(), "CPU", 8);
  Set(n3->mutable_total(), "memory", 16 * kGiB);
  Set(n3->mutable_total(), "TPU", 4);
  Set(n3->mutable_available(), "CPU", 0);
  Set(n3->mutable_available(), "TPU", 0);
  return reply;
}

// The table row whose first column is `node_id`; empty when there is none.
std::string RowOf(const std::string& table, const std::string& node_id) {
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    if (absl::StartsWith(line, node_id)) return std::string(line);
  }
  return "";
}

TEST(RenderNodesTableTest, HasHeaderAndOneRowPerNode) {
  const std::string table = RenderNodesTable(SampleReply());
  const std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(4));
  EXPECT_THAT(lines[0], HasSubstr("NODE_ID"));
  EXPECT_THAT(lines[1], HasSubstr("aaaaaaaaaaaaaaaa"));
  EXPECT_THAT(lines[2], HasSubstr("bbbbbbbbbbbbbbbb"));
  EXPECT_THAT(lines[3], HasSubstr("cccccccccccccccc"));
}

TEST(RenderNodesTableTest, RowShowsStateAndUsedOverTotal) {
  const std::string table = RenderNodesTable(SampleReply());
  const std::string head = RowOf(table, "aaaaaaaaaaaaaaaa");
  EXPECT_THAT(head, HasSubstr("10.0.0.1:7000"));
  EXPECT_THAT(head, HasSubstr(" ALIVE "));
  EXPECT_THAT(head, HasSubstr(" yes "));
  EXPECT_THAT(head, HasSubstr(" 1/2 "));
  EXPECT_THAT(head, HasSubstr(" 1.0/4.0GiB "));
  EXPECT_THAT(head, HasSubstr("GPU=0/2"));
  EXPECT_THAT(RowOf(table, "bbbbbbbbbbbbbbbb"), HasSubstr(" 0/4 "));
}

TEST(RenderNodesTableTest, DeadNodeIsShownAsDead) {
  const std::string row = RowOf(RenderNodesTable(SampleReply()), "cccccccccccccccc");
  EXPECT_THAT(row, HasSubstr(" DEAD "));
  EXPECT_THAT(row, Not(HasSubstr("ALIVE")));
  EXPECT_THAT(row, HasSubstr("TPU=4/4"));
}

TEST(RenderNodesTableTest, NodeWithoutCustomResourcesShowsDash) {
  const std::string row = RowOf(RenderNodesTable(SampleReply()), "bbbbbbbbbbbbbbbb");
  EXPECT_TRUE(absl::EndsWith(row, " -")) << row;
}

TEST(RenderNodesJsonTest, ParsesBackIntoAnEqualMessage) {
  const proto::ListNodesReply reply = SampleReply();
  proto::ListNodesReply parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(RenderNodesJson(reply), &parsed);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, reply))
      << parsed.DebugString();
}

TEST(RenderNodesJsonTest, UsesProtoFieldNamesAndPrintsDefaults) {
  const std::string json = RenderNodesJson(SampleReply());
  EXPECT_THAT(json, HasSubstr("\"node_id\""));
  EXPECT_THAT(json, HasSubstr("\"NODE_DEAD\""));
  EXPECT_THAT(json, HasSubstr("\"is_head\": false"));  // n2, a default value
}

TEST(RenderStatusTest, CountsAliveAndDeadNodesAndLiveWorkers) {
  const std::string status = RenderStatus(SampleReply(), "10.0.0.1:6379");
  EXPECT_THAT(status, HasSubstr("c-42"));
  EXPECT_THAT(status, HasSubstr("10.0.0.1:6379"));
  EXPECT_THAT(status, HasSubstr("Nodes: 2 alive, 1 dead"));
  EXPECT_THAT(status, HasSubstr("Workers: 3"));
}

TEST(RenderStatusTest, SumsResourcesOfAliveNodesOnly) {
  const std::string status = RenderStatus(SampleReply(), "10.0.0.1:6379");
  EXPECT_THAT(status, ContainsRegex("CPU +1/6\n"));
  EXPECT_THAT(status, ContainsRegex("GPU +0/2\n"));
  EXPECT_THAT(status, ContainsRegex("memory +1\\.0/12\\.0GiB\n"));
  EXPECT_THAT(status, Not(HasSubstr("TPU")));
}

TEST(RenderStatusTest, EmptyClusterHasNoResources) {
  const std::string status = RenderStatus(proto::ListNodesReply(), "h:1");
  EXPECT_THAT(status, HasSubstr("Nodes: 0 alive, 0 dead"));
  EXPECT_TRUE(absl::EndsWith(status, "Resources (used/total):\n")) << status;
}

TEST(RenderStatusTest, SumsTheObjectStoresOfAliveNodes) {
  proto::ListNodesReply reply = SampleReply();
  for (auto& node : *reply.mutable_nodes()) {
    node.mutable_object_store()->set_capacity_bytes(int64_t{4} << 30);
    node.mutable_object_store()->set_used_bytes(int64_t{1} << 29);
    node.mutable_object_store()->set_spilled_bytes(int64_t{1} << 30);
    node.mutable_object_store()->set_spilled_objects(3);
  }
  // Two alive nodes of the sample: 1 of 8 GiB used, 2 GiB in 6 spilled objects.
  EXPECT_THAT(RenderStatus(reply, "h:1"),
              HasSubstr("Object store: 1.0 GiB/8.0 GiB used, 2.0 GiB spilled (6 objects)\n"));
  reply.mutable_nodes(0)->mutable_object_store()->set_capacity_bytes(8 << 20);
  reply.mutable_nodes(0)->mutable_object_store()->set_used_bytes(512);
  reply.mutable_nodes(1)->mutable_object_store()->Clear();
  reply.mutable_nodes(2)->mutable_object_store()->Clear();
  EXPECT_THAT(RenderStatus(reply, "h:1"),
              HasSubstr("Object store: 512 B/8.0 MiB used, 1.0 GiB spilled (3 objects)\n"));
}

TEST(RenderStatusTest, ShowsLeasesWaitingForResources) {
  proto::ListNodesReply reply = SampleReply();
  EXPECT_THAT(RenderStatus(reply, "h:1"), Not(HasSubstr("Pending leases")));
  reply.set_queued_leases(3);
  reply.add_queued_reasons("CPU=2 x3 (oldest 4s)");
  const std::string status = RenderStatus(reply, "h:1");
  EXPECT_THAT(status,
              HasSubstr("Pending leases: 3 waiting for resources\n  CPU=2 x3 (oldest 4s)\n"));
}

TEST(RenderStatusTest, ShowsEachAliveNodesUseOfItsResources) {
  const std::string status = RenderStatus(SampleReply(), "h:1");
  EXPECT_THAT(status, HasSubstr("Per node (used/total):\n"));
  EXPECT_THAT(status, ContainsRegex("aaaaaaaaaaaaaaaa +10\\.0\\.0\\.1:7000 +CPU 1/2 memory "
                                    "1\\.0/4\\.0GiB GPU 0/2, 2 workers \\(head\\)\n"));
  EXPECT_THAT(status,
              ContainsRegex("bbbbbbbbbbbbbbbb .*CPU 0/4 memory 0\\.0/8\\.0GiB, 1 workers\n"));
  EXPECT_THAT(status, Not(HasSubstr("cccccccccccccccc")));  // dead
}

TEST(RenderStatusTest, GroupsPendingActorsByClassAndReason) {
  EXPECT_THAT(RenderStatus(SampleReply(), "h:1"), Not(HasSubstr("Pending actors")));
  std::vector<proto::ActorInfo> pending(4);
  for (auto& actor : pending) {
    actor.set_class_name("Trainer");
    actor.set_pending_reason("no alive node has GPU=1 free (GPU 0/2 free in all)");
  }
  pending[3].set_class_name("Loader");
  pending[3].clear_pending_reason();
  const std::string status = RenderStatus(SampleReply(), "h:1", pending);
  EXPECT_THAT(status, HasSubstr("Pending actors: 4\n"
                                "  Trainer x3: no alive node has GPU=1 free (GPU 0/2 free in all)\n"
                                "  Loader x1: waiting to be placed\n"));
}

}  // namespace
}  // namespace weft::cli
