#include "raylet/head/object_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::head {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

proto::ObjectLocation At(const std::string& node_id, const std::string& worker_id,
                         int64_t size = 10) {
  proto::ObjectLocation location;
  location.set_node_id(node_id);
  location.set_worker_id(worker_id);
  location.set_address(worker_id + ".local:1");
  location.set_size_bytes(size);
  return location;
}

std::vector<std::string> Workers(const std::vector<proto::ObjectLocation>& locations) {
  std::vector<std::string> out;
  for (const auto& l : locations) out.push_back(l.worker_id());
  return out;
}

TEST(ObjectDirectoryTest, UnknownObjectHasNoLocations) {
  ObjectDirectory objects;
  EXPECT_THAT(objects.Locations("obj"), IsEmpty());
}

TEST(ObjectDirectoryTest, AddRecordsEveryHoldingWorker) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("obj", At("n1", "w1")).ok());
  ASSERT_TRUE(objects.Add("obj", At("n2", "w2")).ok());
  EXPECT_THAT(Workers(objects.Locations("obj")), UnorderedElementsAre("w1", "w2"));
}

TEST(ObjectDirectoryTest, AddingSameWorkerTwiceKeepsOneLatestEntry) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("obj", At("n1", "w1", 10)).ok());
  ASSERT_TRUE(objects.Add("obj", At("n1", "w1", 20)).ok());
  const auto locations = objects.Locations("obj");
  ASSERT_THAT(Workers(locations), ElementsAre("w1"));
  EXPECT_EQ(locations[0].size_bytes(), 20);
}

TEST(ObjectDirectoryTest, AddWithoutObjectOrWorkerIdIsInvalidArgument) {
  ObjectDirectory objects;
  EXPECT_EQ(objects.Add("", At("n1", "w1")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(objects.Add("obj", At("n1", "")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(objects.Locations("obj"), IsEmpty());
}

TEST(ObjectDirectoryTest, RemoveForgetsOnlyThatCopy) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("obj", At("n1", "w1")).ok());
  ASSERT_TRUE(objects.Add("obj", At("n1", "w2")).ok());
  objects.Remove("obj", "w1");
  EXPECT_THAT(Workers(objects.Locations("obj")), ElementsAre("w2"));
  objects.Remove("obj", "w2");
  EXPECT_THAT(objects.Locations("obj"), IsEmpty());
}

TEST(ObjectDirectoryTest, RemoveOfUnknownObjectOrWorkerIsIgnored) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("obj", At("n1", "w1")).ok());
  objects.Remove("other", "w1");
  objects.Remove("obj", "w9");
  EXPECT_THAT(Workers(objects.Locations("obj")), ElementsAre("w1"));
}

TEST(ObjectDirectoryTest, MarkSpilledMarksOnlyThatCopyAndNeverAddsOne) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("obj", At("n1", "w1")).ok());
  ASSERT_TRUE(objects.Add("obj", At("n1", "w2")).ok());
  objects.MarkSpilled("obj", "w2");
  objects.MarkSpilled("freed", "w2");  // freed before the mark arrived
  std::vector<bool> spilled;
  for (const auto& l : objects.Locations("obj")) spilled.push_back(l.spilled());
  EXPECT_THAT(spilled, UnorderedElementsAre(false, true));
  EXPECT_THAT(objects.Locations("freed"), IsEmpty());
}

TEST(ObjectDirectoryTest, RemoveNodeDropsEveryCopyOnThatNode) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("a", At("n1", "w1")).ok());
  ASSERT_TRUE(objects.Add("a", At("n2", "w2")).ok());
  ASSERT_TRUE(objects.Add("b", At("n1", "w1")).ok());
  ASSERT_TRUE(objects.Add("c", At("n1", "w3")).ok());
  EXPECT_EQ(objects.RemoveNode("n1"), 3);
  EXPECT_THAT(Workers(objects.Locations("a")), ElementsAre("w2"));
  EXPECT_THAT(objects.Locations("b"), IsEmpty());
  EXPECT_THAT(objects.Locations("c"), IsEmpty());
  EXPECT_EQ(objects.RemoveNode("n1"), 0);
}

TEST(ObjectDirectoryTest, RemoveWorkerDropsItsCopiesAndEmptiedObjects) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("a", At("n1", "w1"), {"job1", ""}).ok());
  ASSERT_TRUE(objects.Add("a", At("n1", "w2")).ok());
  ASSERT_TRUE(objects.Add("b", At("n1", "w1"), {"job1", ""}).ok());
  EXPECT_EQ(objects.RemoveWorker("w1"), 2);
  EXPECT_THAT(Workers(objects.Locations("a")), ElementsAre("w2"));
  const auto listed = objects.List();
  ASSERT_EQ(listed.size(), 1u);  // b is gone, owner and all
  EXPECT_EQ(listed[0].object_id(), "a");
  EXPECT_EQ(listed[0].owner(), "job1");
}

// An owner that ends takes its objects: a worker its own, a job's end what its driver owned
// (not what its workers own: a detached actor outlives its job).
TEST(ObjectDirectoryTest, AnEndedOwnersObjectsAreDroppedAndTheirStoresNamed) {
  ObjectDirectory objects;
  ASSERT_TRUE(objects.Add("by-driver", At("n1", "w1"), {"job1", ""}).ok());
  ASSERT_TRUE(objects.Add("by-driver", At("n2", "w2"), {"job1", ""}).ok());
  ASSERT_TRUE(objects.Add("by-worker", At("n1", "w1"), {"job1", "w9"}).ok());
  ASSERT_TRUE(objects.Add("other-job", At("n1", "w1"), {"job2", ""}).ok());

  const auto driver = objects.RemoveOwnedBy({"job1", ""});
  ASSERT_EQ(driver.size(), 2u);  // both stores of its one object
  EXPECT_THAT(driver.at(At("n1", "w1").address()), ElementsAre("by-driver"));
  EXPECT_THAT(driver.at(At("n2", "w2").address()), ElementsAre("by-driver"));
  EXPECT_THAT(objects.Locations("by-driver"), IsEmpty());
  EXPECT_THAT(Workers(objects.Locations("by-worker")), ElementsAre("w1"));

  const auto worker = objects.RemoveOwnedBy({"job1", "w9"});
  EXPECT_THAT(worker.at(At("n1", "w1").address()), ElementsAre("by-worker"));
  EXPECT_THAT(Workers(objects.Locations("other-job")), ElementsAre("w1"));
}

// A result stored after its owner ended is refused, so that its store frees it.
TEST(ObjectDirectoryTest, AResultOfAnEndedOwnerIsRefused) {
  ObjectDirectory objects;
  objects.RemoveOwnedBy({"job1", "w9"});
  EXPECT_EQ(objects.Add("late", At("n1", "w1"), {"job1", "w9"}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(objects.Locations("late"), IsEmpty());
  EXPECT_TRUE(objects.Add("late", At("n1", "w1"), {"job1", "w8"}).ok());
}

}  // namespace
}  // namespace weft::head
