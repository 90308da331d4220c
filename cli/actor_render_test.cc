#include "cli/actor_render.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace weft::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

// An ALIVE async actor with call counts, a PENDING one and a DEAD one.
std::vector<ActorRow> SampleRows() {
  ActorRow alive;
  alive.info.set_actor_id("aaaa000000000001");
  alive.info.set_class_name("Counter");
  alive.info.set_name("counter");
  alive.info.set_namespace_("default");
  alive.info.set_state(proto::ACTOR_ALIVE);
  alive.info.set_node_id("nnnn000000000001");
  alive.info.set_worker_id("wwww000000000001");
  alive.info.set_address("127.0.0.1:4000");
  alive.info.set_pid(4121);
  alive.info.set_executor("async");
  alive.info.set_max_concurrency(1000);
  alive.info.set_num_restarts(2);
  alive.info.set_job_id("job-1");
  alive.stats.emplace();
  alive.stats->set_actor_id("aaaa000000000001");
  alive.stats->set_running(3);
  alive.stats->set_queued(7);
  alive.stats->set_finished(11);

  ActorRow pending;
  pending.info.set_actor_id("bbbb000000000002");
  pending.info.set_class_name("Trainer");
  pending.info.set_state(proto::ACTOR_PENDING);
  pending.info.set_pending_reason("no node has GPU=64");
  (*pending.info.mutable_resources())["GPU"] = 64;

  ActorRow dead;
  dead.info.set_actor_id("cccc000000000003");
  dead.info.set_class_name("Counter");
  dead.info.set_state(proto::ACTOR_DEAD);
  dead.info.set_death_reason("its job finished");
  return {alive, pending, dead};
}

std::string RowOf(const std::string& table, const std::string& id) {
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    if (absl::StartsWith(line, id)) return std::string(line);
  }
  return "";
}

google::protobuf::ListValue ParseArray(const std::string& json) {
  google::protobuf::ListValue list;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &list);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return list;
}

const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& key) {
  static const google::protobuf::Value kMissing;
  const auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << "no key " << key;
  return it == s.fields().end() ? kMissing : it->second;
}

TEST(RenderActorsTableTest, HeaderAndOneRowPerActor) {
  const std::string table = RenderActorsTable(SampleRows());
  const std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(4));
  for (const char* column : {"ACTOR_ID", "CLASS", "NAME", "STATE", "NODE", "PID", "EXECUTOR",
                             "MAX_CONC", "RUNNING", "QUEUED", "RESTARTS", "REASON"}) {
    EXPECT_THAT(lines[0], HasSubstr(column));
  }
}

TEST(RenderActorsTableTest, AliveRowShowsPlacementExecutorAndCalls) {
  const std::string row = RowOf(RenderActorsTable(SampleRows()), "aaaa000000000001");
  EXPECT_THAT(row,
              testing::ContainsRegex(
                  "Counter +counter +ALIVE +nnnn000000000001 +4121 +async +1000 +3 +7 +2 +-$"));
}

TEST(RenderActorsTableTest, PendingRowShowsWhyAndDashes) {
  const std::string row = RowOf(RenderActorsTable(SampleRows()), "bbbb000000000002");
  EXPECT_THAT(row, HasSubstr(" PENDING "));
  EXPECT_TRUE(absl::EndsWith(row, " no node has GPU=64")) << row;
  EXPECT_THAT(row, testing::ContainsRegex("Trainer +- +PENDING +- +- +- +- +- +- +0 "));
}

TEST(RenderActorsTableTest, DeadRowShowsDeathReason) {
  const std::string row = RowOf(RenderActorsTable(SampleRows()), "cccc000000000003");
  EXPECT_THAT(row, HasSubstr(" DEAD "));
  EXPECT_TRUE(absl::EndsWith(row, " its job finished")) << row;
}

TEST(RenderActorsTableTest, NoActorsIsJustTheHeader) {
  const std::vector<std::string> lines =
      absl::StrSplit(RenderActorsTable({}), '\n', absl::SkipEmpty());
  EXPECT_THAT(lines, SizeIs(1));
}

TEST(RenderActorsJsonTest, ArrayOfObjectsWithStableKeys) {
  const auto list = ParseArray(RenderActorsJson(SampleRows()));
  ASSERT_EQ(list.values_size(), 3);
  const auto& alive = list.values(0).struct_value();
  EXPECT_EQ(Field(alive, "actor_id").string_value(), "aaaa000000000001");
  EXPECT_EQ(Field(alive, "class_name").string_value(), "Counter");
  EXPECT_EQ(Field(alive, "name").string_value(), "counter");
  EXPECT_EQ(Field(alive, "state").string_value(), "ALIVE");
  EXPECT_EQ(Field(alive, "node_id").string_value(), "nnnn000000000001");
  EXPECT_EQ(Field(alive, "pid").number_value(), 4121);
  EXPECT_EQ(Field(alive, "executor").string_value(), "async");
  EXPECT_EQ(Field(alive, "max_concurrency").number_value(), 1000);
  EXPECT_EQ(Field(alive, "running").number_value(), 3);
  EXPECT_EQ(Field(alive, "queued").number_value(), 7);
  EXPECT_EQ(Field(alive, "finished").number_value(), 11);
  EXPECT_EQ(Field(alive, "num_restarts").number_value(), 2);
}

TEST(RenderActorsJsonTest, UnknownCountsAreNullAndReasonsAreThere) {
  const auto list = ParseArray(RenderActorsJson(SampleRows()));
  ASSERT_EQ(list.values_size(), 3);
  const auto& pending = list.values(1).struct_value();
  EXPECT_TRUE(Field(pending, "running").has_null_value());
  EXPECT_TRUE(Field(pending, "queued").has_null_value());
  EXPECT_EQ(Field(pending, "state").string_value(), "PENDING");
  EXPECT_EQ(Field(pending, "pending_reason").string_value(), "no node has GPU=64");
  EXPECT_EQ(Field(Field(pending, "resources").struct_value(), "GPU").number_value(), 64);
  const auto& dead = list.values(2).struct_value();
  EXPECT_EQ(Field(dead, "death_reason").string_value(), "its job finished");
}

TEST(RenderActorsJsonTest, NoActorsIsAnEmptyArray) {
  EXPECT_EQ(ParseArray(RenderActorsJson({})).values_size(), 0);
}

TEST(RenderActorDetailsTest, OneKeyValueLinePerField) {
  const std::string details = RenderActorDetails(SampleRows()[0]);
  EXPECT_THAT(details, testing::ContainsRegex("(^|\n)actor_id: +aaaa000000000001\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\nclass_name: +Counter\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\nstate: +ALIVE\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\naddress: +127.0.0.1:4000\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\nrunning: +3\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\nqueued: +7\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\ndetached: +false\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\nresources: +-\n"));
}

TEST(RenderActorDetailsTest, PendingActorShowsReasonAndResources) {
  const std::string details = RenderActorDetails(SampleRows()[1]);
  EXPECT_THAT(details, testing::ContainsRegex("\npending_reason: +no node has GPU=64\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\nresources: +GPU=64\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\npid: +-\n"));
  EXPECT_THAT(details, testing::ContainsRegex("\nrunning: +-\n"));
}

TEST(RenderActorJsonTest, SingleObjectWithTheSameKeysAsTheList) {
  google::protobuf::Struct one;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(RenderActorJson(SampleRows()[0]), &one).ok());
  const auto list = ParseArray(RenderActorsJson({SampleRows()[0]}));
  ASSERT_EQ(list.values_size(), 1);
  EXPECT_EQ(one.fields_size(), list.values(0).struct_value().fields_size());
  EXPECT_EQ(Field(one, "actor_id").string_value(), "aaaa000000000001");
}

}  // namespace
}  // namespace weft::cli
