// A node's object store is bounded (issue 11): results beyond --object-store-memory spill to
// files under the node's session dir and come back on Get; the node reports its store's own
// accounting (used, peak, spilled) in the head's node table.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <weft/weft.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/process.h"
#include "tests/actors/nested_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kCapacity = 8 * kMiB;

class ObjectStoreTest : public DrivenClusterTest {
 protected:
  // One node (the head's), two CPUs, a store of 8 MiB shared by all of its workers.
  static void SetUpTestSuite() {
    Attach(new TestCluster(2, {"--object-store-memory", std::to_string(kCapacity)}));
  }

  // The node's store as its last heartbeat reported it.
  static proto::ObjectStoreFigures Store() {
    const auto nodes = cluster_->ListNodes();
    return nodes.nodes_size() > 0 ? nodes.nodes(0).object_store() : proto::ObjectStoreFigures();
  }
  // Nothing in memory or spilled, as the node reports it.
  static bool StoreEmpty() {
    const auto now = Store();
    return now.used_bytes() == 0 && now.spilled_bytes() == 0 && now.spilled_objects() == 0;
  }
  // Spill files left under the head's session dir.
  static int SpillFiles() {
    int files = 0;
    std::error_code ec;
    const std::filesystem::path root = cluster_->head_session() + "/objects";
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && it->path().parent_path().filename() == "spilled") ++files;
    }
    return files;
  }

  // Files in the node's shared memory that are not a worker's stored values: copies kept for
  // the node's processes (none for values of this node: a spilled one stays spilled).
  static int SharedCopies() {
    int copies = 0;
    std::error_code ec;
    const std::filesystem::path root = cluster_->head_session() + "/objects";
    for (auto it = std::filesystem::recursive_directory_iterator(
             root, std::filesystem::directory_options::follow_directory_symlink, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      copies += it->path().extension() == ".copy";
    }
    return copies;
  }

  // Copies the head's object directory lists as spilled.
  static int ListedSpilled() {
    int spilled = 0;
    if (const auto listed = cluster_->ListObjects()) {
      for (const auto& object : listed->objects()) {
        for (const auto& location : object.locations()) spilled += location.spilled();
      }
    }
    return spilled;
  }
};

// Forty MiB of results held at once on a node whose store holds eight: every Get returns the
// right bytes, the store never held more than its capacity, and once the references are gone
// nothing is left in memory or on disk.
TEST_F(ObjectStoreTest, ResultsFiveTimesTheStoreSpillAndComeBackOnGet) {
  constexpr int kResults = 20;
  std::vector<weft::ObjectRef<std::string>> blobs;
  for (int i = 0; i < kResults; ++i) blobs.push_back(weft::Task(&SlowBlob).Remote(0, 2 * kMiB, i));
  for (int i = 0; i < kResults; ++i) {
    ASSERT_EQ(blobs[i].Get(kBound), MakeBlob(2 * kMiB, i)) << "result " << i;
  }
  EXPECT_EQ(SharedCopies(), 0) << "reading spilled results put them back in shared memory";
  // The node reports its store as of its last heartbeat: wait for one that counts every result.
  ASSERT_TRUE(WaitFor([] {
    const auto now = Store();
    return now.spilled_objects() > 0 &&
           now.used_bytes() + now.spilled_bytes() >= kResults * 2 * kMiB;
  })) << "nothing spilled, or results missing from the accounting; the node reports "
      << Store().ShortDebugString();
  const auto figures = Store();
  EXPECT_EQ(figures.capacity_bytes(), kCapacity);
  EXPECT_GT(figures.peak_bytes(), 0);
  EXPECT_LE(figures.peak_bytes(), kCapacity) << figures.ShortDebugString();
  EXPECT_GE(figures.used_bytes() + figures.spilled_bytes(), kResults * 2 * kMiB)
      << "held results are missing from the accounting: " << figures.ShortDebugString();
  EXPECT_GT(SpillFiles(), 0);
  // The directory (and so `weft list objects`) tells which results are spilled: one per file.
  EXPECT_TRUE(WaitFor([] { return ListedSpilled() == SpillFiles(); }))
      << ListedSpilled() << " results listed as spilled, " << SpillFiles() << " spill files";

  blobs.clear();
  EXPECT_TRUE(WaitFor(StoreEmpty)) << "freed results still counted: " << Store().ShortDebugString();
  EXPECT_EQ(SpillFiles(), 0) << "freed results left spill files";
}

// A result larger than the whole store can never be kept: the call fails at once, and the
// error names the limit.
TEST_F(ObjectStoreTest, AResultLargerThanTheStoreFailsNamingTheLimit) {
  try {
    weft::Task(&SlowBlob).Remote(0, kCapacity + kMiB, 1).Get(kBound);
    ADD_FAILURE() << "a result larger than the store was kept";
  } catch (const weft::ObjectStoreFullError& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr(std::to_string(kCapacity)));
    EXPECT_THAT(e.message(), ::testing::HasSubstr("--object-store-memory"));
  }
}

// A worker killed while it stores results (in memory and spilled) gives its share back: the
// node's accounting drops it and its spill files are removed.
TEST_F(ObjectStoreTest, AKilledWorkersShareOfTheStoreIsReclaimed) {
  auto actor = weft::Actor<Recorder>({.dedicated_process = true}).Remote();
  const int pid = actor.Call(&Recorder::Pid).Get(kBound);
  std::vector<weft::ObjectRef<std::string>> blobs;
  for (int i = 0; i < 6; ++i) blobs.push_back(actor.Call(&Recorder::Blob, 2 * kMiB));
  ASSERT_EQ(weft::Wait(blobs, blobs.size(), std::chrono::milliseconds(kBound), false).ready.size(),
            blobs.size());
  ASSERT_TRUE(WaitFor([] { return Store().spilled_objects() > 0 && SpillFiles() > 0; }))
      << Store().ShortDebugString();
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_TRUE(WaitFor(StoreEmpty))
      << "the killed worker's share is still counted: " << Store().ShortDebugString();
  EXPECT_EQ(SpillFiles(), 0) << "the killed worker's spill files are left";
}

}  // namespace
}  // namespace weft::testing
