#include "cli/object_render.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"

namespace weft::cli {
namespace {

using ::testing::ContainsRegex;
using ::testing::SizeIs;

proto::ListObjectsReply SampleReply() {
  proto::ListObjectsReply reply;
  auto* big = reply.add_objects();
  big->set_object_id("0123456789abcdef01234567");
  big->set_owner("job-7");
  auto* where = big->add_locations();
  where->set_node_id("nnnn000000000001");
  where->set_worker_id("wwww000000000001");
  where->set_address("127.0.0.1:4000");
  where->set_size_bytes(200 * 1024);
  auto* nowhere = reply.add_objects();
  nowhere->set_object_id("fedcba9876543210fedcba98");
  return reply;
}

// What the owner of the first sample object says holds it.
References SampleReferences() {
  proto::ReferenceCounts counts;
  counts.set_object_id("0123456789abcdef01234567");
  counts.set_local(2);
  counts.set_calls(1);
  counts.add_borrowers("127.0.0.1:5000");
  return {{counts.object_id(), counts}};
}

TEST(RenderObjectsTableTest, RowShowsSizeOwnerHoldersSpilledAndLocation) {
  proto::ListObjectsReply reply = SampleReply();
  reply.mutable_objects(0)->set_owner_worker_id("wwww000000000009");
  reply.mutable_objects(0)->mutable_locations(0)->set_spilled(true);
  const std::string table = RenderObjectsTable(reply, SampleReferences());
  const std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  EXPECT_THAT(lines, SizeIs(3));
  EXPECT_THAT(
      table, ContainsRegex("OBJECT_ID +SIZE +OWNER +LOCAL +CALLS +BORROWERS +SPILLED +LOCATION\n"));
  EXPECT_THAT(table, ContainsRegex("0123456789abcdef01234567 +200.0 KiB +job-7/wwww000000000009 +2 "
                                   "+1 +1 +yes +nnnn000000000001/127.0.0.1:4000\n"));
  // Its owner did not answer: what holds it is unknown, not zero.
  EXPECT_THAT(table, ContainsRegex("fedcba9876543210fedcba98 +0 B +- +\\? +\\? +\\? +no +-\n"));
}

TEST(RenderObjectsJsonTest, ReferencesAndSpilledWhenKnownNullWhenNot) {
  google::protobuf::ListValue list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  RenderObjectsJson(SampleReply(), SampleReferences()), &list)
                  .ok());
  ASSERT_EQ(list.values_size(), 2);
  const auto& held = list.values(0).struct_value().fields().at("references").struct_value();
  EXPECT_EQ(held.fields().at("local").number_value(), 2);
  EXPECT_EQ(held.fields().at("calls").number_value(), 1);
  ASSERT_EQ(held.fields().at("borrowers").list_value().values_size(), 1);
  EXPECT_EQ(held.fields().at("borrowers").list_value().values(0).string_value(), "127.0.0.1:5000");
  EXPECT_FALSE(list.values(0).struct_value().fields().at("spilled").bool_value());
  EXPECT_TRUE(list.values(1).struct_value().fields().at("references").has_null_value());
}

TEST(RenderObjectsJsonTest, ArrayWithSizeOwnerAndLocations) {
  google::protobuf::ListValue list;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(RenderObjectsJson(SampleReply()), &list).ok());
  ASSERT_EQ(list.values_size(), 2);
  const auto& fields = list.values(0).struct_value().fields();
  EXPECT_EQ(fields.at("object_id").string_value(), "0123456789abcdef01234567");
  EXPECT_EQ(fields.at("owner").string_value(), "job-7");
  EXPECT_EQ(fields.at("size_bytes").number_value(), 200 * 1024);
  const auto& locations = fields.at("locations").list_value();
  ASSERT_EQ(locations.values_size(), 1);
  EXPECT_EQ(locations.values(0).struct_value().fields().at("address").string_value(),
            "127.0.0.1:4000");
}

}  // namespace
}  // namespace weft::cli
