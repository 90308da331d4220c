// Lost objects (issue 11), on a three-node cluster: when the worker storing a result is killed,
// a task's output is rebuilt by running the task again (lineage), and what cannot be rebuilt
// (an actor method's result, a task without retries left) fails with ObjectLostError.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <signal.h>

#include <set>
#include <string>

#include "tests/actors/nested_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

using ObjectLossTest = ThreeNodeClusterTest;
constexpr int64_t kMiB = 1 << 20;

// Whether the directory lists a copy of one of `ids` at one of `workers`.
bool ListsCopyAt(const TestCluster& cluster, const std::set<std::string>& ids,
                 const std::set<std::string>& workers) {
  const auto listed = cluster.ListObjects();
  if (!listed) return true;
  for (const auto& object : listed->objects()) {
    if (!ids.contains(object.object_id())) continue;
    for (const auto& location : object.locations()) {
      if (workers.contains(location.worker_id())) return true;
    }
  }
  return false;
}

// SIGKILLs every worker that stores one of `refs`, as the directory lists them, and waits until
// their copies are lost: their node has reclaimed their files (until then, a process of that
// node can still map the bytes) and the directory has forgotten them. How many were killed.
int KillStoringWorkers(const TestCluster& cluster,
                       const std::vector<weft::ObjectRef<std::string>>& refs) {
  const auto listed = cluster.ListObjects();
  if (!listed) return 0;
  std::set<std::string> ids;
  for (const auto& ref : refs) ids.insert(ref.id());
  std::set<int> pids;
  std::set<std::string> workers;
  for (const auto& object : listed->objects()) {
    if (!ids.contains(object.object_id())) continue;
    for (const auto& location : object.locations()) {
      const int pid = cluster.FindWorker(location.worker_id()).pid();
      if (pid > 0) pids.insert(pid);
      workers.insert(location.worker_id());
    }
  }
  for (int pid : pids) kill(pid, SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !ListsCopyAt(cluster, ids, workers); }))
      << "the directory still lists the killed workers' copies";
  return static_cast<int>(pids.size());
}

// Stored in a worker and listed by the directory, not fetched here.
void WaitStored(const std::vector<weft::ObjectRef<std::string>>& refs) {
  const auto stored =
      weft::Wait(refs, refs.size(), std::chrono::milliseconds(kBound), /*fetch_local=*/false);
  ASSERT_EQ(stored.ready.size(), refs.size());
}

// The worker that stored a result exits: the directory forgets its copy, and a Get says the
// object is lost, naming it and where it was.
TEST_F(ObjectLossTest, AResultWhoseWorkerExitedIsLostAndLeavesTheDirectory) {
  auto actor = weft::Actor<Recorder>({.dedicated_process = true}).Remote();
  auto blob = actor.Call(&Recorder::Blob, kMiB);
  // Stored in the worker (and listed: the worker answers once the directory has it), not here:
  // Wait without fetch_local.
  const auto stored = weft::Wait(std::vector{blob}, 1, std::chrono::milliseconds(kBound), false);
  ASSERT_EQ(stored.ready.size(), 1u);
  ASSERT_EQ(cluster_->ObjectCount(), 1);
  weft::Kill(actor);  // its own worker exits with it
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the directory still lists the exited worker's object";
  try {
    blob.Get(kBound);
    ADD_FAILURE() << "a lost object returned a value";
  } catch (const weft::ObjectLostError& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr(blob.id()));
    EXPECT_THAT(e.message(), ::testing::HasSubstr("an actor method's result cannot be rebuilt"));
  }
}

// A call whose argument's bytes are gone fails with ObjectLostError, at once: the callee's
// worker is fine, so a task is not run again elsewhere and an actor is not taken for lost.
TEST_F(ObjectLossTest, ACallWhoseArgumentIsLostFailsWithObjectLostError) {
  auto holder = weft::Actor<Recorder>({.dedicated_process = true}).Remote();
  auto blob = holder.Call(&Recorder::Blob, kMiB);
  ASSERT_EQ(weft::Wait(std::vector{blob}, 1, std::chrono::milliseconds(kBound), false).ready.size(),
            1u);
  ASSERT_EQ(KillStoringWorkers(*cluster_, {blob}), 1);
  EXPECT_THROW(weft::Task(&TaskChecksum).Remote(blob).Get(kBound), weft::ObjectLostError);
  auto taker = weft::Actor<Recorder>().Remote();
  EXPECT_THROW(taker.Call(&Recorder::Checksum, blob).Get(kBound), weft::ObjectLostError);
  EXPECT_EQ(taker.Call(&Recorder::Echo, 3).Get(kBound), 3);  // and the taker is fine
}

// Lineage: the worker holding a task's output is killed; Get re-runs the task (as Ray does
// within max_retries) and returns the value, without the user doing anything.
TEST_F(ObjectLossTest, ALostTaskResultIsRebuiltOnGet) {
  auto blob = weft::Task(&SlowBlob).Remote(0, kMiB, 7);
  WaitStored({blob});
  ASSERT_EQ(KillStoringWorkers(*cluster_, {blob}), 1);
  EXPECT_EQ(blob.Get(kBound), MakeBlob(kMiB, 7));
}

// The lost output is an argument of a later task: the task runs once it is rebuilt.
TEST_F(ObjectLossTest, ALostTaskResultPassedOnIsRebuiltForTheCallThatTakesIt) {
  auto blob = weft::Task(&SlowBlob).Remote(0, kMiB, 8);
  WaitStored({blob});
  ASSERT_EQ(KillStoringWorkers(*cluster_, {blob}), 1);
  // Same resource shape: the task may go to the killed worker first, fail there and run again.
  const weft::Task checksum(&TaskChecksum);
  EXPECT_EQ(checksum.Remote(blob).Get(kBound), ChecksumOf(MakeBlob(kMiB, 8)));
}

// Recursively: the output and the input it was made from are both lost.
TEST_F(ObjectLossTest, ALostChainOfTaskResultsIsRebuiltFromItsStart) {
  auto first = weft::Task(&SlowBlob).Remote(0, kMiB, 9);
  auto second = weft::Task(&Reversed).Remote(first);
  WaitStored({first, second});
  ASSERT_GE(KillStoringWorkers(*cluster_, {first, second}), 1);
  std::string expected = MakeBlob(kMiB, 9);
  std::reverse(expected.begin(), expected.end());
  EXPECT_EQ(second.Get(kBound), expected);
}

// A borrower (a task given the reference inside a value) finds the bytes gone: the owner
// rebuilds them for it.
TEST_F(ObjectLossTest, ABorrowerOfALostTaskResultGetsItRebuiltByTheOwner) {
  auto blob = weft::Task(&SlowBlob).Remote(0, kMiB, 10);
  WaitStored({blob});
  ASSERT_EQ(KillStoringWorkers(*cluster_, {blob}), 1);
  const weft::Task checksum(&TaskChecksumAll);
  EXPECT_EQ(checksum.Remote(std::vector{blob}).Get(kBound), ChecksumOf(MakeBlob(kMiB, 10)));
}

// A task with no retries left is not run again: the loss is reported, and says why.
TEST_F(ObjectLossTest, ALostResultOfATaskWithoutRetriesIsReportedAsLost) {
  auto blob = weft::Task(&SlowBlob, weft::TaskOptions{.max_retries = 0}).Remote(0, kMiB, 11);
  WaitStored({blob});
  ASSERT_EQ(KillStoringWorkers(*cluster_, {blob}), 1);
  try {
    blob.Get(kBound);
    ADD_FAILURE() << "a lost object returned a value";
  } catch (const weft::ObjectLostError& e) {
    EXPECT_THAT(e.message(), ::testing::HasSubstr(blob.id()));
    EXPECT_THAT(e.message(), ::testing::HasSubstr("no retries"));
  }
}

}  // namespace
}  // namespace weft::testing
