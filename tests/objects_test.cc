// Objects live as long as someone holds a reference (issue 11), on a three-node cluster: what
// a user sees of large results' memory, in the worker that made them and in the directory.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <signal.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/process.h"
#include "common/rpc.h"
#include "head.grpc.pb.h"
#include "tests/actors/nested_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"
#include "worker.grpc.pb.h"

namespace weft::testing {
namespace {

using ObjectsTest = ThreeNodeClusterTest;
constexpr int64_t kMiB = 1 << 20;

int64_t ResidentBytes(int pid) { return std::max<int64_t>(ProcessMemory(pid, "VmRSS"), 0); }

// Stored in a worker and listed by the directory, not fetched here.
void WaitStored(const std::vector<weft::ObjectRef<std::string>>& refs) {
  const auto stored =
      weft::Wait(refs, refs.size(), std::chrono::milliseconds(kBound), /*fetch_local=*/false);
  ASSERT_EQ(stored.ready.size(), refs.size());
}

// Call, Get at once, drop: as a user writes it. A worker that kept every result would hold
// 300 MiB; the store frees each one when the driver's last reference goes.
TEST_F(ObjectsTest, DroppedLargeResultsAreFreedInTheWorkerAndTheDirectory) {
  auto actor = weft::Actor<Recorder>().Remote();
  const int pid = actor.Call(&Recorder::Pid).Get(kBound);
  ASSERT_EQ(actor.Call(&Recorder::Blob, kMiB).Get(kBound).size(), static_cast<size_t>(kMiB));
  const int64_t before = ResidentBytes(pid);
  ASSERT_GT(before, 0);
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(actor.Call(&Recorder::Blob, kMiB).Get(kBound).size(), static_cast<size_t>(kMiB));
  }
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << cluster_->ObjectCount() << " objects still listed by the directory";
  const int64_t after = ResidentBytes(pid);
  ASSERT_GT(after, 0) << "the worker is gone";
  EXPECT_LT(after - before, 64 * kMiB)
      << "the worker kept the results: " << after / kMiB << " MiB resident";
}

// A result nobody waited for is freed once its call returns.
TEST_F(ObjectsTest, AResultDroppedBeforeItExistsIsFreedWhenItArrives) {
  auto actor = weft::Actor<Recorder>().Remote();
  for (int i = 0; i < 20; ++i) actor.Call(&Recorder::Blob, kMiB);  // refs dropped at once
  ASSERT_EQ(actor.Call(&Recorder::Echo, 7).Get(kBound), 7);        // the blobs are made
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << cluster_->ObjectCount() << " objects still listed by the directory";
}

// A reference still held keeps its object; once passed as an argument and dropped, the object
// lives until the call that takes it has run.
TEST_F(ObjectsTest, HeldAndInFlightReferencesKeepTheirObjects) {
  auto maker = weft::Actor<Recorder>().Remote();
  auto taker = weft::Actor<Recorder>().Remote();
  auto kept = maker.Call(&Recorder::Blob, kMiB);
  std::optional<weft::ObjectRef<int64_t>> sum;
  {
    auto passed = maker.Call(&Recorder::Blob, 2 * kMiB);
    sum = taker.Call(&Recorder::Checksum, passed);
  }  // the driver's ref is gone while the call may still wait to fetch it
  Recorder local;
  EXPECT_EQ(sum->Get(kBound), local.Checksum(local.Blob(2 * kMiB)));
  EXPECT_EQ(kept.Get(kBound).size(), static_cast<size_t>(kMiB));
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 1; }, std::chrono::seconds(5)))
      << cluster_->ObjectCount() << " objects listed; only the one still held should be";
}

// A reference returned inside a call's result is counted like one passed to a call: it lives
// while the result holding it does, then while the caller holds what it took out of it, and
// its object goes when the caller drops that (not when the actor that owns it exits).
TEST_F(ObjectsTest, AReferenceReturnedInAResultLivesWhileTheCallerHoldsIt) {
  auto store = weft::Actor<Recorder>({.name = "returned-store"}).Remote();
  auto maker = weft::Actor<Prober>().Remote(false);
  // Call, Get at once: the result holding the reference is gone before the reference is used.
  auto blob = maker.Call(&Prober::MakeBlobRef, "returned-store", kMiB).Get(kBound);
  ASSERT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 1; }, std::chrono::seconds(5)))
      << cluster_->ObjectCount() << " objects listed; only the returned one should be";
  Recorder local;
  EXPECT_EQ(ChecksumOf(blob.Get(kBound)), ChecksumOf(local.Blob(kMiB)));
  blob = {};
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after the caller dropped the reference it was returned";
}

// A reference inside a Put value lives while the Put object does, and while anyone holds what
// they took out of it: here an actor that was passed the Put object and keeps its contents.
TEST_F(ObjectsTest, AReferenceInsideAPutValueLivesWhileThePutObjectOrItsTakersHoldIt) {
  auto store = weft::Actor<Recorder>().Remote();
  auto keeper = weft::Actor<Prober>().Remote(false);
  std::optional<weft::ObjectRef<std::vector<weft::ObjectRef<std::string>>>> boxed;
  {
    auto blob = store.Call(&Recorder::Blob, kMiB);
    WaitStored({blob});
    boxed = weft::Put(std::vector{blob});
  }
  Recorder local;
  const int64_t expected = ChecksumOf(local.Blob(kMiB));
  {
    auto unboxed = boxed->Get(kBound);  // taken out of the Put object, which the driver keeps
    ASSERT_EQ(unboxed.size(), 1u);
    EXPECT_EQ(ChecksumOf(unboxed[0].Get(kBound)), expected);
  }
  ASSERT_EQ(cluster_->ObjectCount(), 1) << "the object inside the Put value is gone";
  // A task given the Put object's value (copied into the call) borrows its contents too.
  EXPECT_EQ(weft::Task(&TaskChecksumAll).Remote(*boxed).Get(kBound), expected);
  keeper.Call(&Prober::KeepBlobs, *boxed).Get(kBound);  // the actor takes the contents out
  boxed.reset();
  EXPECT_EQ(keeper.Call(&Prober::KeptChecksum).Get(kBound), expected);
  ASSERT_EQ(cluster_->ObjectCount(), 1) << "the object the actor took out is gone";
  keeper.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after the Put value and the actor holding its contents let go";
}

// What the owner of stored object `id` counts for it (nullopt once it holds no entry).
std::optional<proto::ReferenceCounts> OwnersCount(const TestCluster& cluster,
                                                  const std::string& id) {
  const auto listed = cluster.ListObjects();
  if (!listed) return std::nullopt;
  for (const auto& object : listed->objects()) {
    if (object.object_id() != id) continue;
    const auto owner = cluster.FindWorker(object.owner_worker_id());
    auto stub = proto::Owner::NewStub(MakeChannel(owner.address(), cluster.token()));
    grpc::ClientContext context;
    SetTimeout(context, std::chrono::seconds(5));
    proto::GetReferencesRequest request;
    request.add_object_ids(id);
    proto::GetReferencesReply reply;
    if (!stub->GetReferences(&context, request, &reply).ok() || reply.references().empty()) break;
    return reply.references(0);
  }
  return std::nullopt;
}

// A reference returned inside a result makes the caller a borrower in its own right: it
// outlives the process that returned it (killed here), its owner being a third process.
TEST_F(ObjectsTest, AReturnedReferenceOutlivesTheProcessThatReturnedIt) {
  auto store = weft::Actor<Recorder>({.name = "third-store"}).Remote();
  auto owner = weft::Actor<Prober>({.name = "third-owner"}).Remote(false);
  auto middle =
      weft::Actor<Prober>({.name = "third-middle", .dedicated_process = true}).Remote(false);
  const int middle_pid = middle.Call(&Prober::Pid).Get(kBound);
  const std::string id = owner.Call(&Prober::KeepBlobFrom, "third-store", kMiB).Get(kBound);
  owner.Call(&Prober::HandKeptBlobOn, "third-middle").Get(kBound);  // the middle one keeps it
  auto blobs = middle.Call(&Prober::KeptBlobs).Get(kBound);         // and returns it here
  ASSERT_EQ(blobs.size(), 1u);
  ASSERT_EQ(kill(middle_pid, SIGKILL), 0);
  // The owner has seen the middle one die: it counts the driver alone, or has freed the object.
  ASSERT_TRUE(WaitFor([&] {
    const auto counts = OwnersCount(*cluster_, id);
    return !counts || counts->borrowers_size() == 1;
  }));
  Recorder local;
  EXPECT_EQ(ChecksumOf(blobs[0].Get(kBound)), ChecksumOf(local.Blob(kMiB)));
  blobs.clear();
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after the driver dropped the reference it was returned";
}

// A reference that goes back and forth (kept by an actor, returned by it inside a result, that
// result handed back to it, which takes the reference out again) holds no cycle: the object
// goes once everyone has let go.
TEST_F(ObjectsTest, AReferencePassedBackAndForthIsFreedOnceAllLetGo) {
  auto store = weft::Actor<Recorder>().Remote();
  auto keeper = weft::Actor<Prober>().Remote(false);
  {
    auto blob = store.Call(&Recorder::Blob, kMiB);
    WaitStored({blob});
    keeper.Call(&Prober::KeepBlob, blob).Get(kBound);
    auto returned = keeper.Call(&Prober::KeptBlobs);  // the result holds the reference
    keeper.Call(&Prober::UnboxBlobs, returned).Get(kBound);
  }
  Recorder local;
  EXPECT_EQ(keeper.Call(&Prober::KeptChecksum).Get(kBound),
            static_cast<int64_t>(2 * static_cast<uint64_t>(ChecksumOf(local.Blob(kMiB)))));
  keeper.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after every holder let go";
}

// An actor that hands a reference back to its owner inside a result, letting go of its own at
// once: the owner's object lives on in what it received, though the actor's release may reach
// the owner before the result does.
TEST_F(ObjectsTest, AReferenceHandedBackToItsOwnerInAResultLivesOn) {
  auto store = weft::Actor<Recorder>().Remote();
  auto keeper = weft::Actor<Prober>().Remote(false);
  Recorder local;
  const int64_t expected = ChecksumOf(local.Blob(kMiB));
  for (int i = 0; i < 20; ++i) {
    {
      auto blob = store.Call(&Recorder::Blob, kMiB);
      WaitStored({blob});
      keeper.Call(&Prober::KeepBlob, blob).Get(kBound);
    }  // only the keeper holds it now
    auto back = keeper.Call(&Prober::TakeKept).Get(kBound);
    ASSERT_EQ(back.size(), 1u);
    ASSERT_EQ(ChecksumOf(back[0].Get(kBound)), expected) << "round " << i;
  }
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << cluster_->ObjectCount() << " objects stayed after every holder let go";
}

// A borrower that takes references out of an object it was passed (a Put value it gets from
// the driver) keeps the object they came from, and so what it holds, as long as it holds them.
TEST_F(ObjectsTest, AReferenceABorrowerTakesOutOfAnObjectLivesWhileItHoldsIt) {
  auto store = weft::Actor<Recorder>().Remote();
  auto keeper = weft::Actor<Prober>().Remote(false);
  {
    auto blob = store.Call(&Recorder::Blob, kMiB);
    WaitStored({blob});
    keeper.Call(&Prober::UnboxBlobs, weft::Put(std::vector{blob})).Get(kBound);
  }  // the driver holds neither the Put object nor the reference inside it
  Recorder local;
  EXPECT_EQ(keeper.Call(&Prober::KeptChecksum).Get(kBound), ChecksumOf(local.Blob(kMiB)));
  ASSERT_EQ(cluster_->ObjectCount(), 1) << "the object the actor took out is gone";
  keeper.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after the actor holding it let go";
}

// A task worker whose lease went back stays while it stores a result its caller holds (the
// result would be lost with it), and exits once that result is freed.
TEST_F(ObjectsTest, AReturnedTaskWorkerExitsOnceItsResultsAreFreed) {
  auto blob = weft::Task(&SlowBlob).Remote(0, kMiB, 1);
  ASSERT_EQ(blob.Get(kBound).size(), static_cast<size_t>(kMiB));
  const auto listed = cluster_->ListObjects();
  ASSERT_TRUE(listed && listed->objects_size() == 1 && listed->objects(0).locations_size() == 1);
  const proto::WorkerInfo worker =
      cluster_->FindWorker(listed->objects(0).locations(0).worker_id());
  ASSERT_GT(worker.pid(), 0);
  // The idle lease goes back after 1 s; the worker stays, holding no CPU.
  ASSERT_TRUE(WaitFor([&] { return cluster_->FreeCpus() == cluster_->TotalCpus(); }));
  ASSERT_TRUE(ProcessAlive(worker.pid())) << "the worker left while its result was referenced";
  blob = weft::ObjectRef<std::string>();
  // One FreeObjects call, then the worker's orderly exit (its server drains for up to 1 s).
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(worker.pid()); }, std::chrono::seconds(15)))
      << "the returned worker pid " << worker.pid() << " stayed after its result was freed";
}

// A parameter declared ObjectRef<T> receives the reference at once, before its value exists
// (a borrower): a consumer that releases its producer is not held until the producer is done,
// which would deadlock. For a task and for an actor method.
TEST_F(ObjectsTest, AnObjectRefParameterIsDeliveredBeforeItsValueExists) {
  constexpr auto kShort = std::chrono::seconds(20);  // the producer gives up after 15 s
  {
    auto gate = weft::Actor<Recorder>({.name = "task-gate"}).Remote();
    auto produced = weft::Task(&WaitForSignal).Remote("task-gate", 15000);
    EXPECT_EQ(weft::Task(&Signal).Remote("task-gate", produced).Get(kShort), 7);
    EXPECT_EQ(produced.Get(kShort), 1);
    weft::Kill(gate);
  }
  auto gate = weft::Actor<Recorder>({.name = "actor-gate"}).Remote();
  auto consumer = weft::Actor<Prober>().Remote(false);
  auto produced = weft::Task(&WaitForSignal).Remote("actor-gate", 15000);
  EXPECT_EQ(consumer.Call(&Prober::Signal, "actor-gate", produced).Get(kShort), 7);
  EXPECT_EQ(consumer.Call(&Prober::GetKept).Get(kShort), 1);  // the borrowed ref resolves
  weft::Kill(gate);
}

// Borrowers are counted (as Ray's ownership does): a reference an actor keeps as a member keeps
// its object after the driver drops its own, and the object is freed once the actor drops it.
// A result dropped at the same time, never passed on, is freed at once: it shows that the
// driver's frees have reached the store while the kept one is still there.
TEST_F(ObjectsTest, AReferenceAnActorKeepsHoldsItsObjectUntilTheActorDropsIt) {
  auto store = weft::Actor<Recorder>().Remote();
  auto keeper = weft::Actor<Prober>().Remote(false);
  {
    auto kept = store.Call(&Recorder::Blob, kMiB);
    auto dropped = store.Call(&Recorder::Blob, 2 * kMiB);
    WaitStored({kept, dropped});
    keeper.Call(&Prober::KeepBlob, kept).Get(kBound);
  }
  ASSERT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 1; }, std::chrono::seconds(5)))
      << cluster_->ObjectCount() << " objects listed; only the kept one should be";
  Recorder local;
  EXPECT_EQ(keeper.Call(&Prober::KeptChecksum).Get(kBound), ChecksumOf(local.Blob(kMiB)));
  keeper.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after its last borrower dropped it";
}

// An actor in a process of its own that borrows a 1 MiB result another actor stores (the
// driver's reference is gone).
struct KeeperOfABlob {
  KeeperOfABlob() {
    auto kept = store.Call(&Recorder::Blob, kMiB);
    WaitStored({kept});
    keeper.Call(&Prober::KeepBlob, kept).Get(kBound);
  }
  weft::ActorHandle<Recorder> store = weft::Actor<Recorder>().Remote();
  weft::ActorHandle<Prober> keeper = weft::Actor<Prober>({.dedicated_process = true}).Remote(false);
  const int pid = keeper.Call(&Prober::Pid).Get(kBound);
};

// A borrower that stalls (SIGSTOP) past the keepalive bound twice, 3 s apart, is not taken for
// dead: each stall gets its own window of tries on a fresh connection (the second begins
// before the first one's window would have ended, had it not ended at the reconnection), and
// the object it keeps lives on. (The sleeps are the faults' durations, not waits for a
// condition.)
TEST_F(ObjectsTest, ABorrowerThatStallsTwiceKeepsItsObject) {
  KeeperOfABlob blob;
  ASSERT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 1; }));
  const int pid = blob.pid;
  auto& keeper = blob.keeper;
  for (int stall = 0; stall < 2; ++stall) {
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    std::this_thread::sleep_for(std::chrono::seconds(5));  // past kKeepalive*: the watch fails
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }
  EXPECT_EQ(cluster_->ObjectCount(), 1) << "the stalled borrower's object was freed";
  Recorder local;
  EXPECT_EQ(keeper.Call(&Prober::KeptChecksum).Get(kBound), ChecksumOf(local.Blob(kMiB)));
  keeper.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)));
}

// A borrower that stays stopped is taken for gone: its object is freed once the keepalive
// bound and the bounded second try have run out (4 s + 10 s).
TEST_F(ObjectsTest, ABorrowerThatStaysStoppedIsReleased) {
  KeeperOfABlob blob;
  ASSERT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 1; }));
  ASSERT_EQ(kill(blob.pid, SIGSTOP), 0);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(20)))
      << "the object of a borrower stopped for good stayed";
  kill(blob.pid, SIGKILL);
}

// A reference inside a value is counted too, and a borrower that dies releases what it kept.
TEST_F(ObjectsTest, AReferenceKeptInsideAValueIsReleasedWhenItsActorDies) {
  auto store = weft::Actor<Recorder>().Remote();
  auto keeper = weft::Actor<Prober>({.dedicated_process = true}).Remote(false);
  const int keeper_pid = keeper.Call(&Prober::Pid).Get(kBound);
  {
    auto kept = store.Call(&Recorder::Blob, kMiB);
    WaitStored({kept});
    keeper.Call(&Prober::KeepBlobs, std::vector{kept}).Get(kBound);
  }
  Recorder local;
  EXPECT_EQ(keeper.Call(&Prober::KeptChecksum).Get(kBound), ChecksumOf(local.Blob(kMiB)));
  ASSERT_EQ(cluster_->ObjectCount(), 1) << "the kept object is gone";
  ASSERT_EQ(kill(keeper_pid, SIGKILL), 0);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after its only borrower died";
}

// A borrower that hands the reference on (actor to actor) makes the next one a borrower: the
// object lives while any of them keeps it, and goes when the last one drops it.
TEST_F(ObjectsTest, AReferenceHandedOnByABorrowerLivesUntilTheLastBorrowerDropsIt) {
  auto store = weft::Actor<Recorder>().Remote();
  auto first = weft::Actor<Prober>().Remote(false);
  auto last = weft::Actor<Prober>({.name = "last-keeper"}).Remote(false);
  {
    auto kept = store.Call(&Recorder::Blob, kMiB);
    WaitStored({kept});
    first.Call(&Prober::HandBlobOn, "last-keeper", kept).Get(kBound);
  }
  Recorder local;
  EXPECT_EQ(last.Call(&Prober::KeptChecksum).Get(kBound), ChecksumOf(local.Blob(kMiB)));
  ASSERT_EQ(cluster_->ObjectCount(), 1) << "the handed-on object is gone";
  last.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)))
      << "the object stayed after its last borrower dropped it";
}

// A task worker whose lease went back stays while an object it owns is borrowed (the borrower
// could not ask for it any more), and leaves once the borrower lets go.
TEST_F(ObjectsTest, AReturnedTaskWorkerStaysWhileItsObjectIsBorrowedThenLeaves) {
  auto store = weft::Actor<Recorder>({.name = "lent-store"}).Remote();
  auto keeper = weft::Actor<Prober>({.name = "lent-keeper"}).Remote(false);
  const int pid =
      weft::Task(&LendBlobToKeeper).Remote("lent-store", "lent-keeper", kMiB).Get(kBound);
  // The idle lease goes back after 1 s; the worker stays, holding no CPU.
  ASSERT_TRUE(WaitFor([&] { return cluster_->FreeCpus() == cluster_->TotalCpus(); }));
  ASSERT_TRUE(ProcessAlive(pid)) << "the worker left while its object was borrowed";
  Recorder local;
  EXPECT_EQ(keeper.Call(&Prober::KeptChecksum).Get(kBound), ChecksumOf(local.Blob(kMiB)));
  keeper.Call(&Prober::DropKept).Get(kBound);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, std::chrono::seconds(15)))
      << "the returned worker pid " << pid << " stayed after its object was released";
  EXPECT_TRUE(WaitFor([&] { return cluster_->ObjectCount() == 0; }, std::chrono::seconds(5)));
}

// An owner that dies takes its objects with it: a result an actor owns, stored by another
// actor that lives on, is freed there once the owner's worker is killed. (A borrower still
// holding it would get OwnerDiedError.)
TEST_F(ObjectsTest, AResultWhoseOwnerDiedIsFreedWhereItIsStored) {
  auto store = weft::Actor<Recorder>({.name = "blob-store"}).Remote();
  auto owner = weft::Actor<Prober>({.dedicated_process = true}).Remote(false);
  const int owner_pid = owner.Call(&Prober::Pid).Get(kBound);
  const std::string id = owner.Call(&Prober::KeepBlobFrom, "blob-store", kMiB).Get(kBound);
  auto listed = [&] {
    const auto objects = cluster_->ListObjects();
    if (!objects) return true;
    for (const auto& object : objects->objects()) {
      if (object.object_id() == id) return true;
    }
    return false;
  };
  ASSERT_TRUE(listed()) << "the owned result is not stored";
  ASSERT_EQ(kill(owner_pid, SIGKILL), 0);
  EXPECT_TRUE(WaitFor([&] { return !listed(); }, std::chrono::seconds(10)))
      << "object " << id << " of a dead owner is still stored";
  EXPECT_EQ(store.Call(&Recorder::Echo, 1).Get(kBound), 1);  // the storing actor lives on
  weft::Kill(store);
}

}  // namespace
}  // namespace weft::testing
