// weft::Cancel (issue 15), on a real two-node cluster: a coroutine unwound at its co_await, a
// queued call that never starts, a call dropped before it is sent, a threaded call and a task
// that poll the token, a task whose worker is force-killed, a recursive cancel, and a finished
// call left alone. Each cancellation must reach the caller's Get as TaskCancelledError within
// a bound far below how long the call would otherwise run (a minute).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "tests/actors/cancel_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr seconds kWait{20};
// How long a cancelled call may take to fail at its caller: the calls run a minute otherwise.
constexpr seconds kCancelBound{5};
constexpr int kMinute = 60000;

class CancelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(2);
    ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "2"}).empty());
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
    signal_.emplace(weft::Actor<Gate>().Remote(2));
  }
  void TearDown() override {
    signal_.reset();
    weft::Shutdown();
    cluster_.reset();
  }

  // A reference that becomes ready only once Release() is called.
  weft::ObjectRef<int> NotReadyYet() { return signal_->Call(&Gate::Arrive); }
  void Release() { ASSERT_EQ(signal_->Call(&Gate::Arrive).Get(kWait), 2); }

  // The call behind `ref` fails with TaskCancelledError within kCancelBound of now; its message.
  template <class T>
  std::string ExpectCancelled(const weft::ObjectRef<T>& ref) {
    const auto start = Clock::now();
    try {
      ref.Get(kWait);
    } catch (const weft::TaskCancelledError& e) {
      EXPECT_LT(Clock::now() - start, kCancelBound) << e.what();
      EXPECT_EQ(e.error_code(), weft::ErrorCode::kCancelled) << e.what();
      return e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "Get threw something else: " << e.what();
      return "";
    }
    ADD_FAILURE() << "Get returned a value";
    return "";
  }

  // Waits until the file `path` (a task's start marker) exists.
  static bool Started(const std::string& path) {
    return WaitFor([&] { return std::filesystem::exists(path); }, kWait);
  }

  std::unique_ptr<TestCluster> cluster_;
  std::optional<weft::ActorHandle<Gate>> signal_;
  TempDir dir_;
};

TEST_F(CancelTest, ACoroutineWaitingOnAnEventUnwindsAndItsGetThrowsCancelled) {
  auto actor = weft::Actor<Waiter>().Remote();
  auto waiting = actor.Call(&Waiter::OnEvent);
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Waiter::Started).Get(kWait) == 1; }, kWait));
  EXPECT_EQ(weft::Cancel(waiting), weft::CancelOutcome::kRequested);
  EXPECT_THAT(ExpectCancelled(waiting), HasSubstr("Waiter.OnEvent"));
  EXPECT_EQ(actor.Call(&Waiter::Unwound).Get(kWait), 1);  // its frame's destructors ran
  EXPECT_EQ(actor.Call(&Waiter::Echo, 4).Get(kWait), 4);  // the actor goes on
}

TEST_F(CancelTest, EveryFrameOfNestedCoroutinesUnwinds) {
  auto actor = weft::Actor<Waiter>().Remote();
  auto waiting = actor.Call(&Waiter::Nested);
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Waiter::Started).Get(kWait) == 1; }, kWait));
  weft::Cancel(waiting);
  ExpectCancelled(waiting);
  EXPECT_EQ(actor.Call(&Waiter::Unwound).Get(kWait), 2);
}

TEST_F(CancelTest, CoroutinesWaitingOnASleepOrAReferenceAreCancelledToo) {
  auto actor = weft::Actor<Waiter>().Remote();
  auto sleeping = actor.Call(&Waiter::OnSleep, kMinute);
  auto awaiting = actor.Call(&Waiter::OnRef, NotReadyYet());
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Waiter::Started).Get(kWait) == 2; }, kWait));
  weft::Cancel(sleeping);
  weft::Cancel(awaiting);
  ExpectCancelled(sleeping);
  ExpectCancelled(awaiting);
  EXPECT_EQ(actor.Call(&Waiter::Unwound).Get(kWait), 2);
  Release();  // the reference it waited on resolves later: nothing resumes twice
  EXPECT_EQ(actor.Call(&Waiter::Echo, 5).Get(kWait), 5);
}

TEST_F(CancelTest, ACoroutineThatCatchesTheCancellationReturnsItsValue) {
  auto actor = weft::Actor<Waiter>().Remote();
  auto catching = actor.Call(&Waiter::CatchesIt);
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Waiter::Started).Get(kWait) == 1; }, kWait));
  weft::Cancel(catching);
  EXPECT_EQ(catching.Get(kWait), 7);
}

// An async actor running one call at a time: the call queued behind a running one never starts.
TEST_F(CancelTest, ACallQueuedAtTheWorkerNeverStarts) {
  auto actor = weft::Actor<Waiter>({.max_concurrency = 1}).Remote();
  auto running = actor.Call(&Waiter::OnEvent);
  auto queued = actor.Call(&Waiter::OnSleep, 1);
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Waiter::Started).Get(kWait) == 1; }, kWait));
  EXPECT_EQ(weft::Cancel(queued), weft::CancelOutcome::kRequested);  // it is at the worker
  EXPECT_THAT(ExpectCancelled(queued), HasSubstr("before it started"));
  EXPECT_FALSE(running.IsReady());  // the queued call's cancel left the running one alone
  weft::Cancel(running);
  ExpectCancelled(running);
  EXPECT_EQ(actor.Call(&Waiter::Started).Get(kWait), 1);  // the queued call never ran
}

TEST_F(CancelTest, ACallQueuedBehindARunningThreadedCallNeverStarts) {
  auto actor = weft::Actor<Poller>().Remote();  // max_concurrency 1
  auto running = actor.Call(&Poller::UntilCancelled, kMinute);
  auto queued = actor.Call(&Poller::ThrowsWhenCancelled, kMinute);
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Poller::Started).Get(kWait) == 1; }, kWait));
  weft::Cancel(queued);
  EXPECT_THAT(ExpectCancelled(queued), HasSubstr("before it started"));
  weft::Cancel(running);
  EXPECT_EQ(running.Get(kWait), 1);  // it saw the token and returned
  EXPECT_EQ(actor.Call(&Poller::Started).Get(kWait), 1);
}

// Waiting here for its argument, the call is dropped without reaching the worker; the later
// call of the same caller it held up (an actor that keeps order) goes on.
TEST_F(CancelTest, ACallWaitingForItsArgumentIsDroppedAndNoLongerHoldsUpLaterCalls) {
  auto actor = weft::Actor<Recorder>().Remote();
  ASSERT_EQ(actor.Call(&Recorder::Echo, 0).Get(kWait), 0);  // ALIVE
  auto waiting = actor.Call(&Recorder::Append, NotReadyYet());
  auto behind = actor.Call(&Recorder::Append, weft::Put(5));
  EXPECT_EQ(weft::Cancel(waiting), weft::CancelOutcome::kDropped);
  EXPECT_THAT(ExpectCancelled(waiting), HasSubstr("before it was sent"));
  behind.Get(kWait);
  Release();
  EXPECT_THAT(actor.Call(&Recorder::Sequence).Get(kWait), ::testing::ElementsAre(5));
}

TEST_F(CancelTest, ARunningThreadedCallSeesTheTokenAndFinishesOrThrows) {
  auto actor = weft::Actor<Poller>({.max_concurrency = 2}).Remote();
  auto finishing = actor.Call(&Poller::UntilCancelled, kMinute);
  auto throwing = actor.Call(&Poller::ThrowsWhenCancelled, kMinute);
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Poller::Started).Get(kWait) == 2; }, kWait));
  const auto start = Clock::now();
  EXPECT_EQ(weft::Cancel(finishing), weft::CancelOutcome::kRequested);
  EXPECT_EQ(finishing.Get(kWait), 1);
  EXPECT_LT(Clock::now() - start, kCancelBound);
  weft::Cancel(throwing);
  EXPECT_THAT(ExpectCancelled(throwing), HasSubstr("saw the cancellation and stopped"));
  EXPECT_FALSE(weft::CancelRequested());  // outside calls
}

TEST_F(CancelTest, ARunningTaskSeesTheToken) {
  auto task = weft::Task(&TaskUntilCancelled).Remote(dir_.Sub("task"), kMinute);
  ASSERT_TRUE(Started(dir_.Sub("task")));
  EXPECT_EQ(weft::Cancel(task), weft::CancelOutcome::kRequested);
  const auto start = Clock::now();
  EXPECT_EQ(task.Get(kWait), 1);
  EXPECT_LT(Clock::now() - start, kCancelBound);
}

TEST_F(CancelTest, AForcedCancelKillsTheTasksWorkerAndRunsItNoMore) {
  auto task = weft::Task(&TaskIgnoresCancel, {.max_retries = 3}).Remote(dir_.Sub("task"), kMinute);
  ASSERT_TRUE(Started(dir_.Sub("task")));
  int pid = 0;
  std::ifstream(dir_.Sub("task")) >> pid;
  ASSERT_GT(pid, 0);
  std::filesystem::remove(dir_.Sub("task"));
  EXPECT_EQ(weft::Cancel(task, {.force = true}), weft::CancelOutcome::kRequested);
  ExpectCancelled(task);
  // The worker process is gone (reaped by its node); the task was not run again (its Get
  // would have waited for that try).
  EXPECT_TRUE(
      WaitFor([&] { return !std::filesystem::exists("/proc/" + std::to_string(pid)); }, kWait));
  EXPECT_EQ(weft::Task(&Add).Remote(1, 2).Get(kWait), 3);  // the cluster goes on
}

TEST_F(CancelTest, ForceIsRefusedForActorCalls) {
  auto actor = weft::Actor<Poller>().Remote();
  auto running = actor.Call(&Poller::UntilCancelled, kMinute);
  ASSERT_TRUE(WaitFor([&] { return actor.Call(&Poller::Started).Get(kWait) == 1; }, kWait));
  try {
    weft::Cancel(running, {.force = true});
    ADD_FAILURE() << "force was accepted for an actor call";
  } catch (const weft::Error& e) {
    EXPECT_EQ(e.error_code(), weft::ErrorCode::kInvalidArgument);
    EXPECT_THAT(e.what(), HasSubstr("tasks only"));
  }
  weft::Cancel(running);
  EXPECT_EQ(running.Get(kWait), 1);
}

TEST_F(CancelTest, CancellingAFinishedCallDoesNothingAndSaysSo) {
  auto actor = weft::Actor<Poller>().Remote();
  auto done = actor.Call(&Poller::Echo, 3);
  ASSERT_EQ(done.Get(kWait), 3);
  EXPECT_EQ(weft::Cancel(done), weft::CancelOutcome::kAlreadyFinished);
  EXPECT_EQ(done.Get(kWait), 3);
  auto task = weft::Task(&Add).Remote(1, 1);
  ASSERT_EQ(task.Get(kWait), 2);
  EXPECT_EQ(weft::Cancel(task), weft::CancelOutcome::kAlreadyFinished);
  EXPECT_EQ(weft::Cancel(weft::Put(1)), weft::CancelOutcome::kAlreadyFinished);
  // A large result stays in its worker's store: finished, though not fetched here yet.
  auto recorder = weft::Actor<Recorder>().Remote();
  auto large = recorder.Call(&Recorder::Blob, int64_t{2} << 20);
  ASSERT_EQ(weft::Wait(std::vector{large}, 1, kWait, /*fetch_local=*/false).ready.size(), 1u);
  EXPECT_EQ(weft::Cancel(large), weft::CancelOutcome::kAlreadyFinished);
  EXPECT_EQ(large.Get(kWait).size(), size_t{2} << 20);
}

// A task deaf to CancelRequested() goes on after a plain cancel; a forced one then stops it.
TEST_F(CancelTest, AForcedCancelMayFollowAPlainOne) {
  auto task = weft::Task(&TaskIgnoresCancel).Remote(dir_.Sub("task"), kMinute);
  ASSERT_TRUE(Started(dir_.Sub("task")));
  EXPECT_EQ(weft::Cancel(task), weft::CancelOutcome::kRequested);
  EXPECT_THROW(task.Get(milliseconds(500)), weft::GetTimeoutError);  // it runs on
  EXPECT_EQ(weft::Cancel(task, {.force = true}), weft::CancelOutcome::kRequested);
  ExpectCancelled(task);
}

TEST_F(CancelTest, ATaskWaitingForItsArgumentIsDropped) {
  auto task = weft::Task(&Add).Remote(NotReadyYet(), 1);
  EXPECT_EQ(weft::Cancel(task), weft::CancelOutcome::kDropped);
  ExpectCancelled(task);
  Release();
  EXPECT_EQ(weft::Task(&Add).Remote(2, 2).Get(kWait), 4);
}

// The parent waits in Get for its child: only a cancel that reaches the child ends it soon.
TEST_F(CancelTest, ARecursiveCancelReachesTheTaskAChildSubmitted) {
  auto parent = weft::Task(&TaskWithChild).Remote(dir_.Sub("parent"), dir_.Sub("child"), kMinute);
  ASSERT_TRUE(Started(dir_.Sub("child")));
  EXPECT_EQ(weft::Cancel(parent), weft::CancelOutcome::kRequested);
  EXPECT_THAT(ExpectCancelled(parent), HasSubstr("the child saw the cancellation"));
}

// examples/concurrency/cancel_calls, as a user runs it against a cluster.
TEST_F(CancelTest, TheCancelExamplePrintsWhatEachCancellationDid) {
  auto result = weft::testing::Run({BinPath("cancel_calls")}, seconds(60),
                                   {"WEFT_SESSION_DIR=" + cluster_->head_session()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out,
            "coroutine: cancelled, cleaned up: yes\n"
            "threaded: stopped early with a partial result\n"
            "task: cancelled with force\n"
            "finished call: nothing to cancel\n");
}

}  // namespace
}  // namespace weft::testing
