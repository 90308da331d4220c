// Same-node copies are shared (issue 11): a stored result lives once in its node's shared
// memory, and every process of that node that reads it (its driver, other workers) maps those
// bytes instead of holding a copy of its own. The node's shared memory goes with the node,
// however it ends.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <weft/weft.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/process.h"
#include "tests/actors/nested_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

constexpr int64_t kMiB = 1 << 20;

// The processes' own memory (not mapped files or shared memory); -1 when one is gone.
int64_t AnonymousBytes(const std::vector<int>& pids) {
  int64_t sum = 0;
  for (int pid : pids) {
    const int64_t bytes = ProcessMemory(pid, "RssAnon");
    if (bytes < 0) return -1;
    sum += bytes;
  }
  return sum;
}

// The node's shared memory folders in /dev/shm.
std::vector<std::string> SharedMemoryDirs() {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    if (entry.path().filename().string().starts_with("weft-")) dirs.push_back(entry.path());
  }
  return dirs;
}

class SharedObjectsTest : public ::testing::Test {
 protected:
  // One node (the head's) with four CPUs and the default store.
  static void SetUpTestSuite() {
    cluster_ = new TestCluster(4);
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
  }
  static void TearDownTestSuite() {
    weft::Shutdown();
    delete cluster_;
    cluster_ = nullptr;
  }
  static inline TestCluster* cluster_ = nullptr;
};

// Three actors on the node of the one that made a 64 MiB result read it and keep it: the node
// holds it once. Each of them holding a copy of its own (and the producer another) would take
// 256 MiB of the processes' own memory.
TEST_F(SharedObjectsTest, ReadersOnTheSameNodeShareOneCopyOfAResult) {
  constexpr int64_t kSize = 64 * kMiB;
  auto producer = weft::Actor<Recorder>().Remote();
  std::vector<int> pids = {producer.Call(&Recorder::Pid).Get(kBound)};
  std::vector<weft::ActorHandle<Prober>> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(weft::Actor<Prober>().Remote(false));
    pids.push_back(readers.back().Call(&Prober::Pid).Get(kBound));
  }
  const int64_t before = AnonymousBytes(pids);
  ASSERT_GT(before, 0);
  const int64_t expected = ChecksumOf(Recorder().Blob(kSize));
  {
    auto blob = producer.Call(&Recorder::Blob, kSize);
    for (auto& reader : readers) reader.Call(&Prober::KeepBlob, blob).Get(kBound);
  }
  for (auto& reader : readers) EXPECT_EQ(reader.Call(&Prober::KeptChecksum).Get(kBound), expected);
  const int64_t after = AnonymousBytes(pids);
  ASSERT_GT(after, 0) << "a worker is gone";
  RecordProperty("own_memory_growth_bytes", std::to_string(after - before));
  EXPECT_LT(after - before, kSize / 2)
      << "the node's processes hold " << (after - before) / kMiB
      << " MiB more of their own memory for one result of " << kSize / kMiB << " MiB";

  for (auto& reader : readers) reader.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([] { return cluster_->ObjectCount() == 0; }))
      << "the result stayed after its readers dropped it";
}

// What a reader mapped stays readable when the worker that stored it is killed (its files go
// with it): the reader's reference keeps its bytes.
TEST_F(SharedObjectsTest, AValueReadThroughSharedMemoryOutlivesTheWorkerThatStoredIt) {
  constexpr int64_t kSize = 8 * kMiB;
  auto producer = weft::Actor<Recorder>({.dedicated_process = true}).Remote();
  const int producer_pid = producer.Call(&Recorder::Pid).Get(kBound);
  auto reader = weft::Actor<Prober>().Remote(false);
  const int64_t expected = ChecksumOf(Recorder().Blob(kSize));
  {
    auto blob = producer.Call(&Recorder::Blob, kSize);
    reader.Call(&Prober::KeepBlob, blob).Get(kBound);
  }
  ASSERT_EQ(reader.Call(&Prober::KeptChecksum).Get(kBound), expected);
  ASSERT_EQ(kill(producer_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(producer_pid); }));
  EXPECT_EQ(reader.Call(&Prober::KeptChecksum).Get(kBound), expected);
  reader.Call(&Prober::DropKept).Get(kBound);
}

// A node's shared memory is removed when it stops, and when its raylet was SIGKILLed, by the
// next raylet that starts on the machine: nothing stays in /dev/shm (memory, not disk).
TEST(SharedMemoryCleanupTest, ANodesSharedMemoryGoesWithItHoweverItEnds) {
  std::vector<std::string> left_before = SharedMemoryDirs();
  std::string dir;
  {
    TestCluster killed(1);
    const auto pids = RayletPids(killed.head_session());
    ASSERT_EQ(pids.size(), 1u);
    const auto nodes = killed.ListNodes();
    ASSERT_EQ(nodes.nodes_size(), 1);
    dir = "/dev/shm/weft-" + nodes.nodes(0).node_id();
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " is missing";
    ASSERT_EQ(kill(pids[0], SIGKILL), 0);
    ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(pids[0]); }));
    EXPECT_TRUE(std::filesystem::is_directory(dir)) << "nothing removed it yet";
  }
  std::string stopped;
  {
    TestCluster next(1);
    EXPECT_FALSE(std::filesystem::exists(dir)) << "the killed node's shared memory stayed";
    const auto nodes = next.ListNodes();
    ASSERT_EQ(nodes.nodes_size(), 1);
    stopped = "/dev/shm/weft-" + nodes.nodes(0).node_id();
    EXPECT_TRUE(std::filesystem::is_directory(stopped));
  }
  EXPECT_FALSE(std::filesystem::exists(stopped)) << "a stopped node's shared memory stayed";
}

}  // namespace
}  // namespace weft::testing
