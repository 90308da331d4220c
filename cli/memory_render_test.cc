#include "cli/memory_render.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace weft::cli {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kKiB = 1024, kMiB = 1024 * kKiB;

// Two alive nodes with 8 MiB stores and a dead one:
//   aaaa  ALIVE  3 MiB used, peak 8 MiB, 24 MiB spilled in 3 objects, 5 spills, 2 restores
//   bbbb  ALIVE  1 MiB used, peak 2 MiB, nothing spilled
//   dddd  DEAD   (its figures must not count)
proto::ListNodesReply SampleNodes() {
  proto::ListNodesReply reply;
  auto add = [&](const std::string& id, proto::NodeState state, int64_t used, int64_t peak,
                 int64_t spilled, int64_t spilled_objects, int64_t spills, int64_t restores) {
    auto* node = reply.add_nodes();
    node->set_node_id(id);
    node->set_address(id.substr(0, 4) + ":7000");
    node->set_state(state);
    auto* store = node->mutable_object_store();
    store->set_capacity_bytes(8 * kMiB);
    store->set_used_bytes(used);
    store->set_peak_bytes(peak);
    store->set_spilled_bytes(spilled);
    store->set_spilled_objects(spilled_objects);
    store->set_spills(spills);
    store->set_restores(restores);
  };
  add("aaaaaaaaaaaaaaaa", proto::NODE_ALIVE, 3 * kMiB, 8 * kMiB, 24 * kMiB, 3, 5, 2);
  add("bbbbbbbbbbbbbbbb", proto::NODE_ALIVE, 1 * kMiB, 2 * kMiB, 0, 0, 0, 0);
  add("dddddddddddddddd", proto::NODE_DEAD, 7 * kMiB, 7 * kMiB, 9 * kMiB, 9, 9, 9);
  return reply;
}

void AddCopy(proto::ObjectInfo* object, const std::string& node, const std::string& worker,
             int64_t size) {
  auto* location = object->add_locations();
  location->set_node_id(node);
  location->set_worker_id(worker);
  location->set_address("127.0.0.1:4000");
  location->set_size_bytes(size);
}

// Four objects, listed by id (as the head does), not by size:
//   obj-1  200 KiB  job-1  on aaaa
//   obj-2  1.5 MiB  job-2  on aaaa and bbbb (two copies)
//   obj-3  512 B    no owner
//   obj-4  3 MiB    job-1  on bbbb
proto::ListObjectsReply SampleObjects() {
  proto::ListObjectsReply reply;
  auto add = [&](const std::string& id, const std::string& owner) {
    auto* object = reply.add_objects();
    object->set_object_id(id);
    object->set_owner(owner);
    return object;
  };
  AddCopy(add("obj-1", "job-1"), "aaaaaaaaaaaaaaaa", "worker-a1", 200 * kKiB);
  auto* twice = add("obj-2", "job-2");
  AddCopy(twice, "aaaaaaaaaaaaaaaa", "worker-a2", 3 * kMiB / 2);
  AddCopy(twice, "bbbbbbbbbbbbbbbb", "worker-b1", 3 * kMiB / 2);
  AddCopy(add("obj-3", ""), "aaaaaaaaaaaaaaaa", "worker-a1", 512);
  AddCopy(add("obj-4", "job-1"), "bbbbbbbbbbbbbbbb", "worker-b1", 3 * kMiB);
  return reply;
}

// The object ids of the "Largest objects" rows, top to bottom.
std::vector<std::string> ListedObjects(const std::string& rendering) {
  std::vector<std::string> ids;
  for (const absl::string_view line : absl::StrSplit(rendering, '\n')) {
    if (absl::StartsWith(line, "obj-")) ids.emplace_back(line.substr(0, 5));
  }
  return ids;
}

TEST(RenderMemoryTest, OneRowPerAliveNodeWithItsStoreFigures) {
  const std::string out = RenderMemory(SampleNodes(), SampleObjects(), 10);
  EXPECT_THAT(out, ContainsRegex("NODE_ID +USED/CAPACITY +PEAK +SPILLED +SPILLED_OBJECTS +SPILLS "
                                 "+RESTORES\n"));
  EXPECT_THAT(out, ContainsRegex("\naaaaaaaaaaaaaaaa +3.0 MiB/8.0 MiB +8.0 MiB +24.0 MiB +3 +5 "
                                 "+2\n"));
  EXPECT_THAT(out, ContainsRegex("\nbbbbbbbbbbbbbbbb +1.0 MiB/8.0 MiB +2.0 MiB +0 B +0 +0 +0\n"));
}

TEST(RenderMemoryTest, DeadNodesAreLeftOutOfRowsAndTotals) {
  const std::string out = RenderMemory(SampleNodes(), SampleObjects(), 10);
  EXPECT_THAT(out, Not(HasSubstr("dddddddddddddddd")));
  // The totals of the two alive nodes; a sum of peaks would be no peak of the cluster.
  EXPECT_THAT(out, ContainsRegex("\ntotal +4.0 MiB/16.0 MiB +- +24.0 MiB +3 +5 +2\n"));
}

TEST(RenderMemoryTest, ObjectsLargestFirstWithSizeOwnerNodeAndWorker) {
  const std::string out = RenderMemory(SampleNodes(), SampleObjects(), 10);
  EXPECT_THAT(out, HasSubstr("Largest objects (4 of 4):\n"));
  EXPECT_THAT(out, ContainsRegex("OBJECT_ID +SIZE +OWNER +NODE +WORKER\n"));
  EXPECT_THAT(ListedObjects(out), ElementsAre("obj-4", "obj-2", "obj-1", "obj-3"));
  EXPECT_THAT(out, ContainsRegex("\nobj-4 +3.0 MiB +job-1 +bbbbbbbbbbbbbbbb +worker-b1\n"));
  EXPECT_THAT(out, ContainsRegex("\nobj-1 +200.0 KiB +job-1 +aaaaaaaaaaaaaaaa +worker-a1\n"));
  EXPECT_THAT(out, ContainsRegex("\nobj-3 +512 B +- +aaaaaaaaaaaaaaaa +worker-a1\n"));
}

TEST(RenderMemoryTest, ObjectWithTwoCopiesNamesBothPlaces) {
  const std::string out = RenderMemory(SampleNodes(), SampleObjects(), 10);
  EXPECT_THAT(out, ContainsRegex("\nobj-2 +1.5 MiB +job-2 +aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb "
                                 "+worker-a2,worker-b1\n"));
}

TEST(RenderMemoryTest, EqualSizesAreOrderedById) {
  proto::ListObjectsReply objects;
  for (const std::string id : {"obj-9", "obj-5", "obj-7"}) {
    auto* object = objects.add_objects();
    object->set_object_id(id);
    AddCopy(object, "aaaaaaaaaaaaaaaa", "worker-a1", kMiB);
  }
  EXPECT_THAT(ListedObjects(RenderMemory(SampleNodes(), objects, 10)),
              ElementsAre("obj-5", "obj-7", "obj-9"));
}

TEST(RenderMemoryTest, TopCutsTheListButNotTheCount) {
  const std::string out = RenderMemory(SampleNodes(), SampleObjects(), 2);
  EXPECT_THAT(out, HasSubstr("Largest objects (2 of 4):\n"));
  EXPECT_THAT(ListedObjects(out), ElementsAre("obj-4", "obj-2"));
  // Every copy counts: 200 KiB + 2 x 1.5 MiB + 512 B + 3 MiB.
  EXPECT_THAT(out, HasSubstr("\n4 objects stored, 6.2 MiB in all.\n"));
}

TEST(RenderMemoryTest, TopZeroShowsOnlyTheCount) {
  const std::string out = RenderMemory(SampleNodes(), SampleObjects(), 0);
  EXPECT_THAT(out, Not(HasSubstr("Largest objects")));
  EXPECT_THAT(ListedObjects(out), ::testing::IsEmpty());
  EXPECT_THAT(out, HasSubstr("4 objects stored, 6.2 MiB in all.\n"));
}

TEST(RenderMemoryTest, OneObjectIsCountedInTheSingular) {
  proto::ListObjectsReply objects;
  auto* object = objects.add_objects();
  object->set_object_id("obj-1");
  AddCopy(object, "aaaaaaaaaaaaaaaa", "worker-a1", 2 * kKiB);
  EXPECT_THAT(RenderMemory(SampleNodes(), objects, 10),
              HasSubstr("\n1 object stored, 2.0 KiB in all.\n"));
}

TEST(RenderMemoryTest, EmptyClusterSaysSo) {
  EXPECT_EQ(RenderMemory({}, {}, 10), "No alive nodes.\n\nNo objects stored.\n");
}

TEST(RenderMemoryTest, NodesWithoutObjectsSaySo) {
  const std::string out = RenderMemory(SampleNodes(), {}, 10);
  EXPECT_THAT(out, ContainsRegex("\naaaaaaaaaaaaaaaa "));
  EXPECT_THAT(out, HasSubstr("\n\nNo objects stored.\n"));
  EXPECT_THAT(out, Not(HasSubstr("Largest objects")));
}

TEST(RenderMemoryJsonTest, AliveNodesTopObjectsAndTotals) {
  google::protobuf::Struct memory;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  RenderMemoryJson(SampleNodes(), SampleObjects(), 2), &memory)
                  .ok());
  const auto& fields = memory.fields();

  const auto& nodes = fields.at("nodes").list_value();
  ASSERT_EQ(nodes.values_size(), 2);
  const auto& first = nodes.values(0).struct_value().fields();
  EXPECT_EQ(first.at("node_id").string_value(), "aaaaaaaaaaaaaaaa");
  EXPECT_EQ(first.at("address").string_value(), "aaaa:7000");
  EXPECT_EQ(first.at("capacity_bytes").number_value(), 8 * kMiB);
  EXPECT_EQ(first.at("used_bytes").number_value(), 3 * kMiB);
  EXPECT_EQ(first.at("peak_bytes").number_value(), 8 * kMiB);
  EXPECT_EQ(first.at("spilled_bytes").number_value(), 24 * kMiB);
  EXPECT_EQ(first.at("spilled_objects").number_value(), 3);
  EXPECT_EQ(first.at("spills").number_value(), 5);
  EXPECT_EQ(first.at("restores").number_value(), 2);
  EXPECT_EQ(nodes.values(1).struct_value().fields().at("node_id").string_value(),
            "bbbbbbbbbbbbbbbb");

  const auto& objects = fields.at("objects").list_value();
  ASSERT_EQ(objects.values_size(), 2);
  const auto& largest = objects.values(0).struct_value().fields();
  EXPECT_EQ(largest.at("object_id").string_value(), "obj-4");
  EXPECT_EQ(largest.at("owner").string_value(), "job-1");
  EXPECT_EQ(largest.at("size_bytes").number_value(), 3 * kMiB);
  EXPECT_EQ(largest.at("locations").list_value().values_size(), 1);
  EXPECT_EQ(objects.values(1).struct_value().fields().at("locations").list_value().values_size(),
            2);

  EXPECT_EQ(fields.at("stored_objects").number_value(), 4);
  EXPECT_EQ(fields.at("stored_bytes").number_value(), 200 * kKiB + 3 * kMiB + 512 + 3 * kMiB);
}

TEST(RenderMemoryJsonTest, EmptyClusterHasEmptyLists) {
  google::protobuf::Struct memory;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(RenderMemoryJson({}, {}, 10), &memory).ok());
  EXPECT_EQ(memory.fields().at("nodes").list_value().values_size(), 0);
  EXPECT_EQ(memory.fields().at("objects").list_value().values_size(), 0);
  EXPECT_EQ(memory.fields().at("stored_objects").number_value(), 0);
}

}  // namespace
}  // namespace weft::cli
