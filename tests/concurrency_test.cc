// Concurrency beyond the seed page (issue 15), on a real two-node cluster: the order in which
// an actor starts calls whose arguments are not ready yet, and concurrency groups on both
// executors (limits proven by the calls' recorded start and end times).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>

#include "tests/actors/concurrency_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr seconds kWait{20};

// A head (2 CPUs) and a second node (2 CPUs); this process is the driver.
class ConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(2);
    node_session_ = cluster_->JoinNode({"--num-cpus", "2"});
    ASSERT_FALSE(node_session_.empty());
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
    signal_.emplace(weft::Actor<Gate>().Remote(2));
  }
  void TearDown() override {
    signal_.reset();
    weft::Shutdown();
    cluster_.reset();
  }

  // A reference that becomes ready only once Release() is called: the first of two arrivals
  // at a Gate expecting two.
  weft::ObjectRef<int> NotReadyYet() { return signal_->Call(&Gate::Arrive); }
  void Release() { ASSERT_EQ(signal_->Call(&Gate::Arrive).Get(kWait), 2); }

  // Lines of the raylets' logs (head and node) that hold `text`.
  int RayletLogLines(const std::string& text) const {
    int count = 0;
    for (const std::string& session : {cluster_->head_session(), node_session_}) {
      for (const auto& entry : std::filesystem::directory_iterator(session + "/logs")) {
        if (entry.path().filename().string().rfind("raylet-", 0) != 0) continue;
        std::ifstream log(entry.path());
        for (std::string line; std::getline(log, line);) {
          count += line.find(text) != std::string::npos;
        }
      }
    }
    return count;
  }

  std::unique_ptr<TestCluster> cluster_;
  std::string node_session_;
  std::optional<weft::ActorHandle<Gate>> signal_;
};

// As in Ray, an actor that runs calls concurrently starts each call once its arguments exist:
// a call whose argument is not ready does not hold back a later call whose argument is.
TEST_F(ConcurrencyTest, AThreadedActorStartsACallWhoseArgumentIsReadyBeforeOneWhoseIsNot) {
  auto actor = weft::Actor<Recorder>({.max_concurrency = 2}).Remote();
  ASSERT_EQ(actor.Call(&Recorder::Echo, 0).Get(kWait), 0);  // ALIVE
  auto waiting = actor.Call(&Recorder::Append, NotReadyYet());
  auto ready = actor.Call(&Recorder::Append, weft::Put(5));
  ready.Get(kWait);
  Release();
  waiting.Get(kWait);
  EXPECT_THAT(actor.Call(&Recorder::Sequence).Get(kWait), ::testing::ElementsAre(5, 1));
}

TEST_F(ConcurrencyTest, AnAsyncActorStartsACallWhoseArgumentIsReadyBeforeOneWhoseIsNot) {
  auto actor = weft::Actor<Gate>().Remote(1);
  ASSERT_EQ(actor.Call(&Gate::Echo, 0).Get(kWait), 0);
  auto waiting = actor.Call(&Gate::Echo, NotReadyYet());
  auto ready = actor.Call(&Gate::Echo, weft::Put(5));
  EXPECT_EQ(ready.Get(kWait), 5);
  Release();
  EXPECT_EQ(waiting.Get(kWait), 1);
}

// Made before the actor is placed: the calls go out once it is, each as its argument exists.
TEST_F(ConcurrencyTest, CallsMadeBeforeTheActorIsPlacedStartAsTheirArgumentsBecomeReady) {
  auto actor = weft::Actor<Gate>({.resources = {{"late", 1}}}).Remote(1);  // no node has it yet
  auto waiting = actor.Call(&Gate::Echo, NotReadyYet());
  auto ready = actor.Call(&Gate::Echo, weft::Put(5));
  // Remote() does not wait for the head: the actor is there, pending, once its creation arrives.
  ASSERT_TRUE(WaitFor([&] { return cluster_->HasActor(actor.id()); }));
  ASSERT_EQ(cluster_->GetActor(actor.id()).state(), proto::ACTOR_PENDING);
  ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "1", "--resources", R"({"late": 1})"}).empty());
  EXPECT_EQ(ready.Get(kWait), 5);
  Release();
  EXPECT_EQ(waiting.Get(kWait), 1);
}

// An actor that runs one call at a time keeps submission order (the seed page and Ray): the
// later call waits for the earlier one's argument. A Get that gives up meanwhile says so,
// not that the actor is being placed (it was when the calls were made).
TEST_F(ConcurrencyTest, AnActorOfOneCallAtATimeKeepsOrderAndTheTimeoutSaysWhatTheCallWaitsFor) {
  auto actor = weft::Actor<Recorder>().Remote();
  auto waiting = actor.Call(&Recorder::Append, NotReadyYet());
  auto later = actor.Call(&Recorder::Append, weft::Put(5));
  // What a Get that gives up says, once this process has heard that the actor is placed.
  std::string said;
  ASSERT_TRUE(WaitFor(
      [&] {
        try {
          later.Get(milliseconds(50));
          said = "returned";
          return true;
        } catch (const weft::GetTimeoutError& error) {
          said = error.what();
          return said.find("pending") == std::string::npos;
        }
      },
      kWait))
      << said;
  EXPECT_THAT(said, AllOf(HasSubstr("queued behind"), HasSubstr("waits for its argument")));
  try {
    waiting.Get(milliseconds(300));
    FAIL() << "the call ran before its argument existed";
  } catch (const weft::GetTimeoutError& error) {
    EXPECT_THAT(error.what(),
                AllOf(HasSubstr("waits for its argument"), Not(HasSubstr("pending"))));
  }
  Release();
  later.Get(kWait);
  EXPECT_THAT(actor.Call(&Recorder::Sequence).Get(kWait), ::testing::ElementsAre(1, 5));
}

// Concurrency groups ("io": 2, "compute": 1, the default group max_concurrency), for a
// thread-pool actor and an async one.
template <class A>
class GroupsTest : public ConcurrencyTest {
 protected:
  // Gets every span, all within kWait.
  static std::vector<Span> SpansOf(const std::vector<weft::ObjectRef<Span>>& calls) {
    std::vector<Span> spans;
    for (const auto& call : calls) spans.push_back(call.Get(kWait));
    return spans;
  }
};
using Executors = ::testing::Types<Grouped, AsyncGrouped>;
TYPED_TEST_SUITE(GroupsTest, Executors);

// Six calls of 300 ms in "io" and three of 200 ms in "compute", all made at once: "io" runs
// exactly two at a time, "compute" one, and the two groups run beside each other.
TYPED_TEST(GroupsTest, EachGroupRunsExactlyItsLimitAtOnceBesideTheOthers) {
  auto actor = weft::Actor<TypeParam>().Remote();
  std::vector<weft::ObjectRef<Span>> io, compute;
  for (int i = 0; i < 6; ++i) io.push_back(actor.Call(&TypeParam::Io, 300));
  for (int i = 0; i < 3; ++i) compute.push_back(actor.Call(&TypeParam::Compute, 200));
  const auto io_spans = this->SpansOf(io);
  const auto compute_spans = this->SpansOf(compute);
  EXPECT_EQ(MaxOverlap(io_spans), 2);
  EXPECT_EQ(MaxOverlap(compute_spans), 1);
  auto all = io_spans;
  all.insert(all.end(), compute_spans.begin(), compute_spans.end());
  EXPECT_EQ(MaxOverlap(all), 3) << "the groups did not run beside each other";
}

// The default group (one at a time) is blocked: calls of other groups still run, so does a
// default-group method sent to "io" with Options, while a plain default-group call waits.
TYPED_TEST(GroupsTest, ABlockedGroupHoldsUpNoOtherAndACallMayChooseItsGroup) {
  auto actor = weft::Actor<TypeParam>({.max_concurrency = 1}).Remote();  // async: 1000 else
  auto blocked = actor.Call(&TypeParam::Block);
  auto behind = actor.Call(&TypeParam::Plain, 1);
  actor.Call(&TypeParam::Io, 1).Get(kWait);
  actor.Call(&TypeParam::Compute, 1).Get(kWait);
  actor.Options({.concurrency_group = "io"}).Call(&TypeParam::Plain, 1).Get(kWait);
  EXPECT_THROW(behind.Get(milliseconds(200)), weft::GetTimeoutError)
      << "a call of the default group ran beside the blocked one";
  actor.Call(&TypeParam::Unblock).Get(kWait);
  EXPECT_EQ(blocked.Get(kWait), 1);
  behind.Get(kWait);
}

// A group of one keeps submission order (each Note sleeps less than the one before it: two
// at once would note out of order).
TYPED_TEST(GroupsTest, AGroupOfOneKeepsSubmissionOrder) {
  auto actor = weft::Actor<TypeParam>().Remote();
  std::vector<int> expected;
  for (int i = 0; i < 20; ++i) {
    actor.Call(&TypeParam::Note, i);
    expected.push_back(i);
  }
  actor.Call(&TypeParam::Compute, 0).Get(kWait);  // after every Note: same group, in order
  EXPECT_EQ(actor.Call(&TypeParam::Notes).Get(kWait), expected);
}

TEST_F(ConcurrencyTest, AGroupTheClassDoesNotDeclareIsRefusedWithTheFix) {
  auto actor = weft::Actor<Grouped>().Remote();
  try {
    actor.Options({.concurrency_group = "db"});
    FAIL() << "an undeclared group was taken";
  } catch (const weft::Error& error) {
    EXPECT_EQ(error.code(), 3);
    EXPECT_THAT(error.what(), AllOf(HasSubstr("\"db\""), HasSubstr(".ConcurrencyGroup(")));
  }
  try {
    weft::Actor<Misgrouped>().Remote();
    FAIL() << "a class with a method in an undeclared group was created";
  } catch (const weft::Error& error) {
    EXPECT_EQ(error.code(), 3);
    EXPECT_THAT(error.what(), AllOf(HasSubstr("method Ping"), HasSubstr("\"db\"")));
  }
}

// Per-call retries, as Ray's .options(max_task_retries=...): the actor (restarts, no retries)
// loses its worker while two calls are in flight; the one made with retries runs again on the
// new copy, the other fails as lost.
TEST_F(ConcurrencyTest, ACallMadeWithRetriesRunsAgainAfterARestartWhereOthersAreLost) {
  auto actor = weft::Actor<Recorder>({.dedicated_process = true, .max_restarts = -1}).Remote();
  const int pid = actor.Call(&Recorder::Pid).Get(kWait);
  auto retried = actor.Options({.max_task_retries = 1}).Call(&Recorder::SlowEcho, 7, 1000);
  auto lost = actor.Call(&Recorder::SlowEcho, 8, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(retried.Get(kWait), 7);
  EXPECT_THROW(lost.Get(kWait), weft::ActorUnavailableError);
  EXPECT_NE(actor.Call(&Recorder::Pid).Get(kWait), pid);
  EXPECT_THROW(actor.Options({.max_task_retries = -2}), weft::Error);
}

// On an actor that runs one call at a time in its default group, a call of another group that
// waits for its argument holds up none of the caller's calls of other groups.
TEST_F(ConcurrencyTest, ACallWaitingForItsArgumentHoldsUpOnlyItsOwnGroup) {
  auto actor = weft::Actor<Grouped>().Remote();
  ASSERT_EQ(actor.Call(&Grouped::Plain, 1).Get(kWait).second > 0, true);  // ALIVE
  auto waiting = actor.Call(&Grouped::Note, NotReadyYet());  // "compute", argument not ready
  auto behind = actor.Call(&Grouped::Note, 2);               // "compute": waits behind it
  auto plain = actor.Call(&Grouped::Plain, 1);               // the default group
  auto io = actor.Call(&Grouped::Notes);                     // "io"
  plain.Get(kWait);
  EXPECT_TRUE(io.Get(kWait).empty());  // nothing of "compute" ran yet
  EXPECT_FALSE(behind.IsReady());
  Release();
  waiting.Get(kWait);
  behind.Get(kWait);
  EXPECT_THAT(actor.Call(&Grouped::Notes).Get(kWait), ::testing::ElementsAre(1, 2));
}

// A call's name, as Ray's .options(name=...): its error names it (its output lines too: see
// the streaming example's test).
TEST_F(ConcurrencyTest, ANamedCallsErrorNamesIt) {
  auto actor = weft::Actor<Recorder>().Remote();
  try {
    actor.Options({.name = "step-3"}).Call(&Recorder::Fail, std::string("bad")).Get(kWait);
    ADD_FAILURE() << "the call returned";
  } catch (const weft::RemoteError& e) {
    EXPECT_EQ(e.origin().call_name, "step-3");
    EXPECT_THAT(e.what(), HasSubstr("in Recorder.Fail \"step-3\""));
  }
}

// GCC 12 copies the temporaries of a co_await expression bit for bit: options holding a name
// (or a default argument) there must survive it (StableString keeps it on the heap).
TEST_F(ConcurrencyTest, OptionsAwaitedInOneExpressionAreKeptWhole) {
  auto grouped = weft::Actor<Grouped>().Remote();
  const int sum = weft::RunSync([&]() -> weft::Async<int> {
    const int plain = co_await weft::Task(&Add).Remote(1, 2);
    const int named =
        co_await weft::Task(&Add, {.name = "a name longer than a string's inline buffer"})
            .Remote(3, 4);
    const Span span =
        co_await grouped.Options({.concurrency_group = "io"}).Call(&Grouped::Plain, 1);
    co_return plain + named + (span.second >= span.first ? 1 : 0);
  }());
  EXPECT_EQ(sum, 11);
}

// A constructor that throws fails the actor's creation with its error, on each executor, and
// the worker that ran it goes on serving (actors share one per job and node).
TEST_F(ConcurrencyTest, AConstructorThatThrowsFailsItsActorAndTheWorkerServesOn) {
  const auto expect_refused = [&](auto call, const char* which) {
    try {
      call.Get(kWait);
      ADD_FAILURE() << which << ": the call of an actor whose constructor threw returned";
    } catch (const weft::Error& error) {
      EXPECT_THAT(error.what(), AllOf(HasSubstr("constructor"), HasSubstr("refused"))) << which;
    }
  };
  for (int i = 0; i < 2; ++i) {  // actors spread over the two nodes: each gets some
    expect_refused(weft::Actor<AsyncRefuser>().Remote(1).Call(&AsyncRefuser::Ping), "async");
    expect_refused(weft::Actor<Refuser>({.max_concurrency = 2}).Remote(1).Call(&Refuser::Ping),
                   "thread pool of 2");
    expect_refused(weft::Actor<Refuser>().Remote(1).Call(&Refuser::Ping), "shared pool");
  }
  // Their workers serve on: new actors answer, and no raylet saw a worker exit.
  for (int i = 0; i < 4; ++i)
    EXPECT_GT(weft::Actor<Recorder>().Remote().Call(&Recorder::Pid).Get(kWait), 0);
  EXPECT_EQ(RayletLogLines("worker exited"), 0) << "a worker died";
}

// A constructor that takes its time holds up no other actor of its worker: each construction is
// answered as it ends, however many are in flight on the head's stream to that worker.
TEST_F(ConcurrencyTest, ASlowConstructorHoldsUpNoOtherActorsCreation) {
  auto started = weft::Actor<Gate>().Remote(2);
  const auto slow = weft::Actor<SlowStarter>().Remote(started, *signal_);  // waits at the gate
  auto slow_answer = slow.Call(&SlowStarter::Ping);
  // Its constructor runs (and waits) before the other actors are asked for: answered once both
  // arrived, in either order.
  started.Call(&Gate::Arrive).Get(kWait);
  std::vector<weft::ActorHandle<Recorder>> others;
  for (int i = 0; i < 300; ++i) others.push_back(weft::Actor<Recorder>().Remote());
  std::vector<weft::ObjectRef<int>> pids;
  for (const auto& other : others) pids.push_back(other.Call(&Recorder::Pid));
  for (auto& pid : pids) ASSERT_GT(pid.Get(kWait), 0);
  EXPECT_FALSE(slow_answer.IsReady()) << "the slow constructor returned before it was let go";
  // Lets it go: answered once the constructor's arrival and this one are both in, whichever
  // came first (its call to the gate may still be on the way).
  signal_->Call(&Gate::Arrive).Get(kWait);
  EXPECT_EQ(slow_answer.Get(kWait), 1);
}

// A one-at-a-time actor's call runs on the worker's gRPC thread that read it when the actor is
// idle (no thread wake for it). Calls that block there, or on the shared pool beside it, hold up
// no other actor of their worker, and a call that waits for another actor of its own worker
// gets its answer.
TEST_F(ConcurrencyTest, BlockedCallsOfOneAtATimeActorsHoldUpNoOtherActorOfTheirWorker) {
  const auto first = weft::Actor<Blocker>().Remote();
  const int pid = first.Call(&Blocker::Pid).Get(kWait);
  // Actors that share first's worker (default actors of a job share a worker per node). The
  // placement alternates between the two nodes: three actors a round reach both with each class.
  std::vector<weft::ActorHandle<Blocker>> blockers;
  std::vector<weft::ActorHandle<Recorder>> recorders;
  for (int i = 0; i < 20 && (blockers.size() < 2 || recorders.empty()); ++i) {
    auto blocker = weft::Actor<Blocker>().Remote();
    if (blocker.Call(&Blocker::Pid).Get(kWait) == pid) blockers.push_back(blocker);
    for (int j = 0; j < 2; ++j) {
      auto recorder = weft::Actor<Recorder>().Remote();
      if (recorder.Call(&Recorder::Pid).Get(kWait) == pid) recorders.push_back(recorder);
    }
  }
  ASSERT_EQ(blockers.size(), 2u) << "too few Blockers in worker " << pid;
  ASSERT_FALSE(recorders.empty()) << "no Recorder in worker " << pid;

  // Two blocked calls in one worker: at most one holds a gRPC thread, the other a pool thread.
  // They return once this test is the gate's third arrival.
  const auto gate = weft::Actor<Gate>().Remote(3);
  auto blocked = first.Call(&Blocker::WaitFor, gate);
  auto also_blocked = blockers[0].Call(&Blocker::WaitFor, gate);
  auto behind = first.Call(&Blocker::Pid);  // queued behind the blocked call of its actor
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(recorders[0].Call(&Recorder::Echo, i).Get(kWait), i);
    EXPECT_EQ(blockers[0].Call(&Blocker::Pid).IsReady(), false);
  }
  // A call that waits for another actor of its own worker, while the two others block.
  EXPECT_EQ(blockers[1].Call(&Blocker::EchoThrough, recorders[0], 7).Get(kWait), 7);
  EXPECT_FALSE(blocked.IsReady());
  EXPECT_FALSE(behind.IsReady()) << "a call ran before the blocked call of its actor ended";

  const int released = gate.Call(&Gate::Arrive).Get(kWait);
  EXPECT_EQ(released + blocked.Get(kWait) + also_blocked.Get(kWait), 1 + 2 + 3);
  EXPECT_EQ(behind.Get(kWait), pid);
}

// examples/concurrency/concurrency_groups, as a user runs it against a cluster.
TEST_F(ConcurrencyTest, TheConcurrencyGroupsExamplePrintsEachGroupsLimit) {
  auto result = weft::testing::Run({BinPath("concurrency_groups")}, seconds(60),
                                   {"WEFT_SESSION_DIR=" + cluster_->head_session()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out, "io: 2 at once\ncompute: 4 at once\ndefault, sent to io: 2 at once\n");
}

}  // namespace
}  // namespace weft::testing
