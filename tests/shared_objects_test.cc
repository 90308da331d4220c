// Same-node copies are shared (issue 11): a stored result lives once in its node's shared
// memory, and every process of that node that reads it (its driver, other workers) maps those
// bytes instead of holding a copy of its own. The node's shared memory goes with the node,
// however it ends.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <weft/weft.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/process.h"
#include "tests/actors/nested_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

constexpr int64_t kMiB = 1 << 20;

// Whether object `id` has a file in the shared memory of a node of `session` (stored, Put, or
// a copy fetched from another machine).
bool InSharedMemory(const std::string& session, const std::string& id) {
  const std::string name = absl::BytesToHexString(id);
  std::error_code nodes_error, folders_error;
  for (const auto& node : std::filesystem::directory_iterator(session + "/objects", nodes_error)) {
    for (const auto& folder :
         std::filesystem::directory_iterator(node.path() / "memory", folders_error)) {
      std::error_code ec;
      if (std::filesystem::exists(folder.path() / name, ec) ||
          std::filesystem::exists(folder.path() / (name + ".copy"), ec)) {
        return true;
      }
    }
  }
  return false;
}

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

// A suite's cluster, with the driver attached through the head's session.
class ClusterSuite : public DrivenClusterTest {
 protected:
  // Every case reads 64 MiB values through shared memory: a small /dev/shm (a container's
  // 64 MiB default) makes workers keep them in their own memory, which these cases measure.
  void SetUp() override {
    if (std::getenv("WEFT_SHM_DIR")) GTEST_SKIP() << "these cases measure /dev/shm";
    struct statvfs shm {};
    if (statvfs("/dev/shm", &shm) != 0 || shm.f_bavail * shm.f_frsize < 1024 * kMiB) {
      GTEST_SKIP() << "/dev/shm has less than 1 GiB free";
    }
  }
};

class SharedObjectsTest : public ClusterSuite {
 protected:
  // One node (the head's) with four CPUs and the default store.
  static void SetUpTestSuite() { Attach(new TestCluster(4)); }
};

constexpr int64_t kSize = 64 * kMiB;

// Three actors of the node that keep a reference and read its value, and the processes whose
// own memory is measured (theirs, and a producer's when there is one).
struct Readers {
  explicit Readers(std::vector<int> measured = {}, const weft::ActorOptions& options = {})
      : pids(std::move(measured)) {
    for (int i = 0; i < 3; ++i) {
      actors.push_back(weft::Actor<Prober>(options).Remote(false));
      pids.push_back(actors.back().Call(&Prober::Pid).Get(kBound));
    }
  }
  // Each keeps `blob`; its id.
  std::string Keep(const weft::ObjectRef<std::string>& blob) {
    for (auto& actor : actors) actor.Call(&Prober::KeepBlob, blob).Get(kBound);
    return blob.id();
  }
  void ExpectRead(int64_t checksum) {
    for (auto& actor : actors) EXPECT_EQ(actor.Call(&Prober::KeptChecksum).Get(kBound), checksum);
  }
  void Drop() {
    for (auto& actor : actors) actor.Call(&Prober::DropKept).Get(kBound);
  }
  int64_t OwnMemory() const { return AnonymousBytes(pids); }

  std::vector<weft::ActorHandle<Prober>> actors;
  std::vector<int> pids;
};

// The measured processes grew by less than `bound` (half a copy of one value by default).
void ExpectNoCopies(int64_t before, int64_t after, const std::string& what,
                    int64_t bound = kSize / 2) {
  ASSERT_GT(before, 0);
  ASSERT_GT(after, 0) << "a worker is gone";
  ::testing::Test::RecordProperty("own_memory_growth_bytes", std::to_string(after - before));
  EXPECT_LT(after - before, bound)
      << "the node's processes hold " << (after - before) / kMiB
      << " MiB more of their own memory for " << what << " of " << kSize / kMiB << " MiB";
}

// The readers grew by less than `bound`: object `id` lies once in the shared memory of a node
// of `session`, and leaves it when they drop it.
void ExpectOneSharedCopyTillDropped(Readers& readers, int64_t before, const std::string& session,
                                    const std::string& id, const std::string& what,
                                    int64_t bound = kSize / 2) {
  ExpectNoCopies(before, readers.OwnMemory(), what, bound);
  EXPECT_TRUE(InSharedMemory(session, id));
  readers.Drop();
  EXPECT_TRUE(WaitFor([&] { return !InSharedMemory(session, id); }))
      << "the " << what << "'s file stayed in shared memory after its readers dropped it";
}

// Three actors on the node of the one that made a 64 MiB result read it and keep it: the node
// holds it once. Each of them holding a copy of its own (and the producer another) would take
// 256 MiB of the processes' own memory.
TEST_F(SharedObjectsTest, ReadersOnTheSameNodeShareOneCopyOfAResult) {
  auto producer = weft::Actor<Recorder>().Remote();
  Readers readers({producer.Call(&Recorder::Pid).Get(kBound)});
  const int64_t before = readers.OwnMemory();
  // The driver's reference goes at once: the readers keep the object.
  const std::string id = readers.Keep(producer.Call(&Recorder::Blob, kSize));
  readers.ExpectRead(ChecksumOf(Recorder().Blob(kSize)));
  ExpectOneSharedCopyTillDropped(readers, before, cluster_->head_session(), id, "one result");
  EXPECT_TRUE(WaitFor([] { return cluster_->ObjectCount() == 0; }))
      << "the result stayed after its readers dropped it";
}

// Three actors of the node keep and read a 64 MiB value the driver Put: it lives once, in the
// node's shared memory, not once in the driver and again in each actor.
TEST_F(SharedObjectsTest, APutValueReadByActorsOfItsNodeIsSharedNotCopied) {
  Readers readers;
  const int64_t before = readers.OwnMemory();
  const std::string value = Recorder().Blob(kSize);
  // The driver's reference goes at once: the readers keep the object.
  const std::string id = readers.Keep(weft::Put(value));
  readers.ExpectRead(ChecksumOf(value));
  ExpectOneSharedCopyTillDropped(readers, before, cluster_->head_session(), id, "one Put value");
}

// A result the driver has read (mapped) and then passes on to three actors of the node is not
// copied into the calls: they map the same bytes.
TEST_F(SharedObjectsTest, AResultReadHereAndPassedOnIsNotCopiedIntoEachCall) {
  auto producer = weft::Actor<Recorder>().Remote();
  Readers readers({producer.Call(&Recorder::Pid).Get(kBound)});
  const int64_t before = readers.OwnMemory();
  const int64_t expected = ChecksumOf(Recorder().Blob(kSize));
  {
    auto blob = producer.Call(&Recorder::Blob, kSize);
    ASSERT_EQ(ChecksumOf(blob.Get(kBound)), expected);  // here now
    readers.Keep(blob);
  }
  readers.ExpectRead(expected);
  ExpectNoCopies(before, readers.OwnMemory(), "one result");
  readers.Drop();
  EXPECT_TRUE(WaitFor([] { return cluster_->ObjectCount() == 0; }))
      << "the result stayed after its readers dropped it";
}

// A result read as a weft::Blob is not copied into the driver: every Get points into the one
// mapping of the file its worker stored in the node's shared memory, which stays readable
// after the object is freed.
TEST_F(SharedObjectsTest, AResultReadAsABlobPointsIntoItsWorkersStoredFile) {
  auto producer = weft::Actor<Recorder>().Remote();
  producer.Call(&Recorder::Pid).Get(kBound);  // started before measuring
  const int64_t before = ProcessMemory(getpid(), "RssAnon");
  weft::Blob first, second;
  {
    auto ref = producer.Call(&Recorder::SharedBlob, kSize);
    first = ref.Get(kBound);
    second = ref.Get(kBound);
    EXPECT_TRUE(InSharedMemory(cluster_->head_session(), ref.id()));
  }
  const int64_t after = ProcessMemory(getpid(), "RssAnon");
  ASSERT_EQ(static_cast<int64_t>(first.size()), kSize);
  EXPECT_EQ(first.data(), second.data()) << "each Get made a copy of its own";
  EXPECT_LT(after - before, kSize / 2)
      << "the driver holds " << (after - before) / kMiB
      << " MiB more of its own memory for a Blob of " << kSize / kMiB << " MiB";
  EXPECT_TRUE(WaitFor([] { return cluster_->ObjectCount() == 0; }))
      << "the result stayed after its reference was dropped";
  EXPECT_EQ(ChecksumOf(second), ChecksumOf(Recorder().Blob(kSize)));
}

// Blobs go everywhere strings go: as a Put value, an argument, and a small result (kept in
// the driver's own table, not in shared memory).
TEST_F(SharedObjectsTest, ABlobIsAValueLikeAString) {
  auto recorder = weft::Actor<Recorder>().Remote();
  const std::string value = Recorder().Blob(8 * kMiB);
  const weft::ObjectRef<weft::Blob> put = weft::Put(weft::Blob(value));
  EXPECT_EQ(put.Get(kBound).view(), value);
  EXPECT_EQ(recorder.Call(&Recorder::ChecksumBlob, put).Get(kBound), ChecksumOf(value));
  EXPECT_EQ(recorder.Call(&Recorder::ChecksumBlob, weft::Blob("abc")).Get(kBound),
            ChecksumOf("abc"));
  const weft::Blob small = recorder.Call(&Recorder::SharedBlob, 10).Get(kBound);
  EXPECT_EQ(small.view(), Recorder().Blob(10));
  EXPECT_EQ(recorder.Call(&Recorder::SharedBlob, 0).Get(kBound).size(), 0u);
}

// The same for a value an actor Put and handed out: its worker's node holds it once.
TEST_F(SharedObjectsTest, AWorkersPutValueReadByActorsOfItsNodeIsShared) {
  auto putter = weft::Actor<Prober>().Remote(false);
  Readers readers({putter.Call(&Prober::Pid).Get(kBound)});
  const int64_t before = readers.OwnMemory();
  // The driver's reference goes at once: the readers keep the object.
  const std::string id = readers.Keep(putter.Call(&Prober::PutBlob, kSize).Get(kBound));
  readers.ExpectRead(ChecksumOf(Recorder().Blob(kSize)));
  ExpectOneSharedCopyTillDropped(readers, before, cluster_->head_session(), id, "one Put value");
}

// A large value handed to an actor's constructor (no call holds it) lives on after the driver
// drops its reference: a Put value, and a result the driver has read.
TEST_F(SharedObjectsTest, ALargeValueGivenToAConstructorOutlivesTheDriversReference) {
  const std::string value = Recorder().Blob(8 * kMiB);
  auto from_put = [&] { return weft::Actor<BlobHolder>().Remote(weft::Put(value)); }();
  auto from_result = [&] {
    auto blob = weft::Actor<Recorder>().Remote().Call(&Recorder::Blob, 8 * kMiB);
    EXPECT_EQ(blob.Get(kBound), value);
    return weft::Actor<BlobHolder>().Remote(blob);
  }();
  EXPECT_EQ(from_put.Call(&BlobHolder::Checksum).Get(kBound), ChecksumOf(value));
  EXPECT_EQ(from_result.Call(&BlobHolder::Checksum).Get(kBound), ChecksumOf(value));
  // (A reference in constructor arguments is kept for the driver's life: see README.)
}

// An actor that holds a Put value's reference (never read there) passes it to a parameter
// taken by value of another actor: the value arrives.
TEST_F(SharedObjectsTest, APutValuePassedOnByValueByABorrowerArrives) {
  const std::string value = Recorder().Blob(8 * kMiB);
  auto target = weft::Actor<Prober>({.name = "by-value-target"}).Remote(false);
  auto borrower = weft::Actor<Prober>().Remote(false);
  borrower.Call(&Prober::KeepBlob, weft::Put(value)).Get(kBound);
  EXPECT_EQ(borrower.Call(&Prober::ChecksumKeptThrough, "by-value-target").Get(kBound),
            ChecksumOf(value));
  borrower.Call(&Prober::DropKept).Get(kBound);
  weft::Kill(target);
}

// What a reader mapped stays readable when the worker that stored it is killed (its files go
// with it): the reader's reference keeps its bytes.
TEST_F(SharedObjectsTest, AValueReadThroughSharedMemoryOutlivesTheWorkerThatStoredIt) {
  auto producer = weft::Actor<Recorder>({.dedicated_process = true}).Remote();
  const int producer_pid = producer.Call(&Recorder::Pid).Get(kBound);
  auto reader = weft::Actor<Prober>().Remote(false);
  const int reader_pid = reader.Call(&Prober::Pid).Get(kBound);
  const int64_t before = ProcessMemory(reader_pid, "RssAnon");
  const int64_t expected = ChecksumOf(Recorder().Blob(kSize));
  std::string id;
  {
    auto blob = producer.Call(&Recorder::Blob, kSize);
    id = blob.id();
    reader.Call(&Prober::KeepBlob, blob).Get(kBound);
  }
  ASSERT_EQ(reader.Call(&Prober::KeptChecksum).Get(kBound), expected);
  ASSERT_EQ(kill(producer_pid, SIGKILL), 0);
  // Lost once its node has reclaimed the killed worker's files and the directory forgot it.
  ASSERT_TRUE(WaitFor([&] {
    const auto listed = cluster_->ListObjects();
    return listed && std::none_of(listed->objects().begin(), listed->objects().end(),
                                  [&](const auto& object) { return object.object_id() == id; });
  }));
  EXPECT_EQ(reader.Call(&Prober::KeptChecksum).Get(kBound), expected);
  EXPECT_LT(ProcessMemory(reader_pid, "RssAnon") - before, kSize / 2)
      << "the reader holds a copy of its own";
  reader.Call(&Prober::DropKept).Get(kBound);
}

// Two nodes in sessions of their own: another machine, as far as memory goes. The head's node
// has the resource "near", the other "far".
class AcrossSessionsTest : public ClusterSuite {
 protected:
  static void SetUpTestSuite() {
    Attach(new TestCluster(2, {"--resources", R"({"near": 1})"}));
    far_session_ = cluster_->JoinNode({"--num-cpus", "3", "--resources", R"({"far": 3})"});
    ASSERT_FALSE(far_session_.empty());
    ASSERT_TRUE(WaitFor([] { return cluster_->ListNodes().nodes_size() == 2; }));
  }
  static inline std::string far_session_;
};

// A node of another machine gets a large Put value from its owner by value, well over gRPC's
// default 4 MiB message.
TEST_F(AcrossSessionsTest, ALargePutValueReachesAnActorOfAnotherMachine) {
  const std::string value = Recorder().Blob(16 * kMiB);
  auto far = weft::Actor<Prober>({.resources = {{"far", 1}}}).Remote(false);
  far.Call(&Prober::KeepBlob, weft::Put(value)).Get(kBound);
  EXPECT_EQ(far.Call(&Prober::KeptChecksum).Get(kBound), ChecksumOf(value));
  weft::Kill(far);
}

// Three actors of another machine read a 64 MiB result: their node fetches it once and they
// share that copy (Ray's node pulls it into its store once). Each fetching its own would take
// 192 MiB of their own memory. The copy goes when the last of them drops it.
TEST_F(AcrossSessionsTest, ReadersOfAnotherMachineFetchAResultOnceForTheirNode) {
  auto producer = weft::Actor<Recorder>({.resources = {{"near", 1}}}).Remote();
  Readers readers({}, {.resources = {{"far", 1}}});
  const int64_t before = readers.OwnMemory();
  const std::string id = readers.Keep(producer.Call(&Recorder::Blob, kSize));
  readers.ExpectRead(ChecksumOf(Recorder().Blob(kSize)));
  // Less than one copy: the fetching reader's heap may keep the fetch's buffers (~32 MiB).
  ExpectOneSharedCopyTillDropped(readers, before, far_session_, id, "one result of another machine",
                                 kSize);
  for (auto& reader : readers.actors) weft::Kill(reader);
}

// A result fetched from another machine and read as a weft::Blob: the fetch writes it into
// this node's shared memory as it arrives, and the Blob points there. The driver holds no copy
// of its own, not even for the time of the fetch (its peak resident memory, reset before).
TEST_F(AcrossSessionsTest, AResultOfAnotherMachineReadAsABlobIsTheNodesCopy) {
  auto producer = weft::Actor<Recorder>({.resources = {{"far", 1}}}).Remote();
  producer.Call(&Recorder::Pid).Get(kBound);  // started before measuring
  const auto ref = producer.Call(&Recorder::SharedBlob, kSize);
  weft::Wait(std::vector{ref}, 1, std::nullopt, /*fetch_local=*/false);  // made over there
  std::ofstream("/proc/self/clear_refs") << "5";  // the peak starts again from here
  const int64_t before = ProcessMemory(getpid(), "VmRSS");
  const weft::Blob blob = ref.Get(kBound);
  const int64_t peak = ProcessMemory(getpid(), "VmHWM");
  RecordProperty("peak_growth_bytes", std::to_string(peak - before));
  // gRPC's buffers of the stream (a few MiB) come and go; a copy would be 64 MiB.
  EXPECT_LT(peak - before, kSize / 2)
      << "the driver's memory grew by up to " << (peak - before) / kMiB << " MiB for a Blob of "
      << kSize / kMiB << " MiB from another machine";
  EXPECT_TRUE(InSharedMemory(cluster_->head_session(), ref.id()));
  EXPECT_EQ(ChecksumOf(blob), ChecksumOf(Recorder().Blob(kSize)));
}

// A node's shared memory is removed when its raylet stops, and when its raylet was SIGKILLed,
// by the next raylet that starts on the machine: nothing stays in /dev/shm (memory, not disk).
// The clusters use a shared memory root of their own, which no other test's raylet sweeps.
TEST(SharedMemoryCleanupTest, ANodesSharedMemoryGoesWithItHoweverItEnds) {
  if (std::getenv("WEFT_SHM_DIR")) GTEST_SKIP() << "this case sets its own WEFT_SHM_DIR";
  char root[] = "/dev/shm/weft-cleanup-test-XXXXXX";
  ASSERT_NE(mkdtemp(root), nullptr);
  setenv("WEFT_SHM_DIR", root, 1);  // for the daemons this test starts
  auto only_node = [&](const TestCluster& cluster) {
    const auto nodes = cluster.ListNodes();
    return nodes.nodes_size() == 1 ? std::string(root) + "/weft-node-" + nodes.nodes(0).node_id()
                                   : std::string();
  };
  {
    TestCluster killed(1);
    const auto pids = RayletPids(killed.head_session());
    ASSERT_EQ(pids.size(), 1u);
    const std::string killed_dir = only_node(killed);
    ASSERT_TRUE(std::filesystem::is_directory(killed_dir)) << killed_dir << " is missing";
    ASSERT_EQ(kill(pids[0], SIGKILL), 0);
    ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(pids[0]); }));
    EXPECT_TRUE(std::filesystem::is_directory(killed_dir)) << "a SIGKILL removes nothing";

    TestCluster next(1);  // before `killed` is stopped: its raylet's start sweeps
    EXPECT_FALSE(std::filesystem::exists(killed_dir)) << "the killed node's shared memory stayed";
    const auto next_pids = RayletPids(next.head_session());
    ASSERT_EQ(next_pids.size(), 1u);
    const std::string stopped_dir = only_node(next);
    EXPECT_TRUE(std::filesystem::is_directory(stopped_dir));
    ASSERT_EQ(kill(next_pids[0], SIGTERM), 0);  // the raylet's own orderly stop
    ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(next_pids[0]); }));
    EXPECT_FALSE(std::filesystem::exists(stopped_dir)) << "a stopped node's shared memory stayed";
  }
  unsetenv("WEFT_SHM_DIR");
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(root, ec)) << "left in " << root;
  std::filesystem::remove_all(root, ec);
}

}  // namespace
}  // namespace weft::testing
