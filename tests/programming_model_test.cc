// Ray's everyday programming model, from the user's side, on a three-node cluster: large
// results Get at once, actors and tasks created from inside actors and tasks, references
// passed on before their values exist, Get/Wait as Ray defines them, errors that keep their
// type through a chain of calls, and order per caller. Ported from the cases of Ray's
// python/ray/tests (test_basic, test_actor, test_actor_advanced, test_failure).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <signal.h>

#include <thread>

#include "tests/actors/nested_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

using ProgrammingModelTest = ThreeNodeClusterTest;

// --- Get of a large result, at once -------------------------------------------------------

TEST_F(ProgrammingModelTest, GetOfALargeResultRightAfterTheCallReturnsIt) {
  auto recorder = weft::Actor<Recorder>().Remote();
  for (int64_t bytes : {150'000L, 1L << 20, 10L << 20}) {
    auto ref = recorder.Call(&Recorder::Blob, bytes);  // Get before the result exists
    EXPECT_EQ(ChecksumOf(ref.Get(kBound)), ChecksumOf(Recorder().Blob(bytes))) << bytes;
  }
  std::vector<weft::ObjectRef<std::string>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(recorder.Call(&Recorder::Blob, 200'000));
  for (const auto& blob : weft::Get(refs, kBound)) EXPECT_EQ(blob.size(), 200'000u);
}

TEST_F(ProgrammingModelTest, AThreadPoolActorGetsAnotherActorsLargeResult) {
  auto prober = weft::Actor<Prober>().Remote(true);
  for (int64_t bytes : {96 * 1024L, 102'500L, 1L << 20}) {
    EXPECT_EQ(prober.Call(&Prober::BlobChecksumFromChild, bytes).Get(kBound),
              ChecksumOf(Recorder().Blob(bytes)))
        << bytes;
  }
}

// --- Nesting ------------------------------------------------------------------------------

TEST_F(ProgrammingModelTest, AnActorCreatesAnActorInItsConstructor) {
  auto prober = weft::Actor<Prober>().Remote(true);
  EXPECT_EQ(prober.Call(&Prober::AskChild, 41).Get(kBound), 41);
}

TEST_F(ProgrammingModelTest, ATaskCreatesANamedActorAndReturnsItsHandle) {
  auto handle = weft::Task(&MakeNamedRecorder).Remote("made-in-a-task").Get(kBound);
  EXPECT_EQ(handle.Call(&Recorder::Echo, 7).Get(kBound), 7);
  EXPECT_EQ(weft::GetActor<Recorder>("made-in-a-task").Call(&Recorder::Echo, 8).Get(kBound), 8);
}

// Remote() does not wait for the head to have the actor, yet a handle passed on at once (to a
// task, or returned by the task that created it) finds its actor in the process receiving it.
TEST_F(ProgrammingModelTest, AHandlePassedOnRightAfterRemoteFindsItsActor) {
  auto actor = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(weft::Task(&EchoThrough).Remote(actor, 5).Get(kBound), 5);
  auto made = weft::Task(&MakeRecorder).Remote().Get(kBound);
  EXPECT_EQ(made.Call(&Recorder::Echo, 6).Get(kBound), 6);
  EXPECT_EQ(weft::Task(&EchoThrough).Remote(made, 7).Get(kBound), 7);
}

TEST_F(ProgrammingModelTest, TasksFanOutTwoLevelsDeep) {
  EXPECT_EQ(weft::Task(&FanOut).Remote(2, 2).Get(kBound), 4);
}

TEST_F(ProgrammingModelTest, ANamedActorIsFoundAtOnceFromAnotherProcess) {
  for (int round = 0; round < 5; ++round) {
    const std::string name = "at-once-" + std::to_string(round);
    weft::Actor<Recorder>({.name = name}).Remote();
    EXPECT_EQ(weft::Task(&EchoNamed).Remote(name, round).Get(kBound), round) << name;
  }
}

// --- References passed on before their values exist ---------------------------------------

TEST_F(ProgrammingModelTest, AMethodReturnsTheReferenceOfACallStillRunning) {
  auto prober = weft::Actor<Prober>().Remote(true);
  weft::ObjectRef<int> inner = prober.Call(&Prober::ChildSlowRef, 5, 300).Get(kBound);
  EXPECT_EQ(inner.Get(kBound), 5);
}

TEST_F(ProgrammingModelTest, APendingReferenceForwardedThroughANestedTask) {
  auto slow = weft::Task(&SlowInt).Remote(300, 11);
  EXPECT_EQ(weft::Task(&Forward).Remote(slow).Get(kBound), 11);
}

TEST_F(ProgrammingModelTest, AReferenceATaskReturnsOutlivesTheTasksLease) {
  // The inner task takes longer than the outer task's worker stays leased (idle leases go
  // back after 1 s): the outer worker owns the inner reference and must still answer for it.
  weft::ObjectRef<int> inner = weft::Task(&StartSlowInt).Remote(3000, 13).Get(kBound);
  EXPECT_EQ(inner.Get(kBound), 13);
}

TEST_F(ProgrammingModelTest, AnActorKeepsAPendingReferenceAndGetsItLater) {
  auto prober = weft::Actor<Prober>().Remote(false);
  auto slow = weft::Task(&SlowInt).Remote(300, 12);
  auto returned = prober.Call(&Prober::Keep, slow).Get(kBound);
  EXPECT_EQ(returned.id(), slow.id());
  EXPECT_EQ(prober.Call(&Prober::GetKept).Get(kBound), 12);
  EXPECT_EQ(returned.Get(kBound), 12);
}

TEST_F(ProgrammingModelTest, APendingReferenceWhoseCallFailsFailsWhereverItIsGot) {
  auto recorder = weft::Actor<Recorder>().Remote();
  auto failing = recorder.Call(&Recorder::Fail, "no value");
  try {
    weft::Task(&Deref).Remote(failing).Get(kBound);
    FAIL() << "a failed reference produced a value";
  } catch (const weft::RemoteError& e) {
    EXPECT_EQ(e.type(), "std::invalid_argument");
    EXPECT_THAT(e.message(), HasSubstr("no value"));
  }
}

TEST_F(ProgrammingModelTest, AReferenceWhoseOwnerDiedFailsWithATypedError) {
  auto prober = weft::Actor<Prober>({.dedicated_process = true}).Remote(true);
  const int pid = prober.Call(&Prober::Pid).Get(kBound);
  // Owned by the prober's process, and still running when its owner dies.
  weft::ObjectRef<int> orphan = prober.Call(&Prober::ChildSlowRef, 3, 60000).Get(kBound);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  try {
    orphan.Get(kBound);
    FAIL() << "a reference whose owner died produced a value";
  } catch (const weft::OwnerDiedError& e) {
    EXPECT_EQ(e.code(), 14) << e.what();
    EXPECT_THAT(e.message(), HasSubstr("owner of object " + orphan.id()));
  }
}

// Caller (driver, task, actor) x callee (task, actor) x argument (small, large, pending,
// pending nested in a value).
class CallMatrixTest : public ThreeNodeClusterTest,
                       public ::testing::WithParamInterface<std::tuple<int, int, int>> {};

TEST_P(CallMatrixTest, TheCalleeSeesTheArgumentsValue) {
  const auto [caller, callee, arg] = GetParam();
  int64_t got = 0;
  if (caller == 0) {
    got = RunScenario(callee, arg);
  } else if (caller == 1) {
    got = weft::Task(&TaskScenario).Remote(callee, arg).Get(kBound);
  } else {
    got = weft::Actor<Prober>().Remote(false).Call(&Prober::Scenario, callee, arg).Get(kBound);
  }
  EXPECT_EQ(got, ExpectedScenario(arg));
}

std::string MatrixName(const ::testing::TestParamInfo<std::tuple<int, int, int>>& info) {
  static const char* callers[] = {"Driver", "Task", "Actor"};
  static const char* callees[] = {"Task", "Actor"};
  static const char* args[] = {"Small", "Large", "Pending", "NestedPending"};
  return std::string(callers[std::get<0>(info.param)]) + "Calls" +
         callees[std::get<1>(info.param)] + "With" + args[std::get<2>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(
    AllCallers, CallMatrixTest,
    ::testing::Combine(::testing::Values(0, 1, 2), ::testing::Values(kTaskCallee, kActorCallee),
                       ::testing::Values(kSmallArg, kLargeArg, kPendingArg, kNestedPendingArg)),
    MatrixName);

// --- Order per caller ---------------------------------------------------------------------

TEST_F(ProgrammingModelTest, ACallerDoesNotWaitForAnotherCallersArgument) {
  auto recorder = weft::Actor<Recorder>({.name = "two-callers"}).Remote();
  auto slow_arg = weft::Task(&SlowInt).Remote(3000, 1);
  weft::ObjectRef<int> first;
  std::thread([&] {
    first = weft::GetActor<Recorder>("two-callers").Call(&Recorder::Echo, slow_arg);
  }).join();
  auto second = recorder.Call(&Recorder::Echo, 2);
  EXPECT_EQ(second.Get(kBound), 2);
  EXPECT_FALSE(first.IsReady()) << "the first caller's argument was not ready yet";
  EXPECT_EQ(first.Get(kBound), 1);
}

TEST_F(ProgrammingModelTest, OneCallersCallsStillRunInOrderBehindAPendingArgument) {
  auto recorder = weft::Actor<Recorder>().Remote();
  recorder.Call(&Recorder::Append, weft::Task(&SlowInt).Remote(300, 0));
  for (int i = 1; i < 20; ++i) recorder.Call(&Recorder::Append, i);
  const auto sequence = recorder.Call(&Recorder::Sequence).Get(kBound);
  ASSERT_EQ(sequence.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sequence[i], i);
}

// --- Get and Wait as Ray defines them -----------------------------------------------------

// A Get that times out leaves the reference usable: the same ref returns its value later.
TEST_F(ProgrammingModelTest, AGetThatTimesOutCanBeAskedAgain) {
  auto slow = weft::Task(&SlowInt).Remote(1500, 7);
  EXPECT_THROW(slow.Get(std::chrono::milliseconds(100)), weft::GetTimeoutError);
  EXPECT_EQ(slow.Get(kBound), 7);
}

TEST_F(ProgrammingModelTest, GetOfManyThrowsAsSoonAsOneFails) {
  auto recorder = weft::Actor<Recorder>().Remote();
  auto slow = weft::Task(&SlowInt).Remote(5000, 1);
  auto failing = recorder.Call(&Recorder::Fail, "early failure");
  try {
    weft::Get(std::vector{slow, failing}, kBound);
    FAIL() << "Get of a failed reference returned";
  } catch (const weft::RemoteError& e) {
    EXPECT_THAT(e.message(), HasSubstr("early failure"));
  }
  EXPECT_FALSE(slow.IsReady()) << "Get waited for the slow reference before throwing";
}

TEST_F(ProgrammingModelTest, WaitRejectsDuplicatesAndImpossibleCounts) {
  auto a = weft::Put(1);
  auto b = weft::Put(2);
  auto expect_invalid = [](auto&& call, const char* what) {
    try {
      call();
      ADD_FAILURE() << what << " was accepted";
    } catch (const weft::Error& e) {
      EXPECT_EQ(e.code(), 3) << what << ": " << e.what();
    }
  };
  expect_invalid([&] { weft::Wait(std::vector{a, a}, 1); }, "a duplicate reference");
  expect_invalid([&] { weft::Wait(std::vector{a, b}, 0); }, "num_returns 0");
  expect_invalid([&] { weft::Wait(std::vector{a, b}, 3); }, "num_returns above the list");
}

TEST_F(ProgrammingModelTest, WaitKeepsTheInputOrderInItsReadyList) {
  auto slow = weft::Task(&SlowInt).Remote(300, 0);
  auto fast = weft::Put(1);
  auto medium = weft::Task(&SlowInt).Remote(0, 2);
  const std::vector refs{slow, fast, medium};
  auto [ready, not_ready] = weft::Wait(refs, 3, kBound);
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_TRUE(not_ready.empty());
  for (size_t i = 0; i < refs.size(); ++i) EXPECT_EQ(ready[i].id(), refs[i].id()) << i;
}

// --- Errors through a chain of calls ------------------------------------------------------

TEST_F(ProgrammingModelTest, AnExceptionKeepsItsTypeThroughThreeLevels) {
  auto top = weft::Actor<Prober>().Remote(false);
  try {
    top.Call(&Prober::Relay, 2).Get(kBound);
    FAIL() << "the chain returned a value";
  } catch (const weft::RemoteError& e) {
    EXPECT_EQ(e.type(), "std::domain_error");
    EXPECT_EQ(e.message(), "the bottom of the chain");
    EXPECT_EQ(e.origin().class_name, "Prober");
    EXPECT_THAT(e.what(), HasSubstr("std::domain_error: the bottom of the chain"));
  }
  try {
    weft::Task(&ProberRelay).Remote(1).Get(kBound);
    FAIL() << "the chain returned a value";
  } catch (const weft::RemoteError& e) {
    EXPECT_EQ(e.type(), "std::domain_error");
  }
}

}  // namespace
}  // namespace weft::testing
