// Actors, tasks and object references on a real two-node cluster: the behaviour the seed page
// describes, and the errors a user meets.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <set>
#include <thread>

#include "common/rpc.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// A head (2 CPUs, resource head_node) and a second node (2 CPUs, resource second_node); this
// process is the driver.
class ActorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(
        2, std::vector<std::string>{"--resources", R"({"head_node": 1})"});
    ASSERT_FALSE(
        cluster_->JoinNode({"--num-cpus", "2", "--resources", R"({"second_node": 1})"}).empty());
    ASSERT_TRUE(WaitFor([&] {
      auto nodes = cluster_->ListNodes();
      return nodes.nodes_size() == 2;
    }));
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
  }
  void TearDown() override {
    weft::Shutdown();
    cluster_.reset();
  }

  std::unique_ptr<TestCluster> cluster_;
};

// 25,000 calls: more than the caller sends ahead (10,000), so most go as earlier ones are
// answered, and still in order.
TEST_F(ActorTest, TwentyFiveThousandCallsFromOneCallerRunInOrder) {
  constexpr int kCalls = 25'000;
  auto recorder = weft::Actor<Recorder>().Remote();
  std::vector<weft::ObjectRef<void>> refs;
  for (int i = 0; i < kCalls; ++i) refs.push_back(recorder.Call(&Recorder::Append, i));
  for (const auto& ref : refs) ref.Get(seconds(60));
  const std::vector<int> sequence = recorder.Call(&Recorder::Sequence).Get(seconds(30));
  ASSERT_EQ(sequence.size(), static_cast<size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(sequence[i], i) << "call " << i << " out of order";
}

// A caller that pipelines more calls than its window (10,000 per caller, ActorCalls) to an
// actor that is stuck: the worker holds the window and the rest wait in the caller, where a
// Get timeout says so and a cancel drops them at once; when the actor is killed, every call,
// sent or waiting, fails with ActorDiedError (none hangs).
TEST_F(ActorTest, CallsBeyondTheWindowWaitInTheCallerWhereACancelDropsThem) {
  constexpr int kCalls = 13'000;
  constexpr int kWindow = 10'000;
  auto gate = weft::Actor<Gate>({.max_concurrency = 1}).Remote(2);
  auto stuck = gate.Call(&Gate::Arrive);  // waits for a second arrival, which cannot run
  std::vector<weft::ObjectRef<int>> echoes;
  for (int i = 0; i < kCalls; ++i) echoes.push_back(gate.Call(&Gate::Echo, i));

  proto::ActorInfo info;
  ASSERT_TRUE(WaitFor([&] {
    info = cluster_->GetActor(gate.id());
    return info.state() == proto::ACTOR_ALIVE;
  }));
  int64_t most_held = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const proto::ActorStats stats = cluster_->StatsOf(info);
        most_held = std::max<int64_t>(most_held, stats.running() + stats.queued());
        return most_held >= kWindow;
      },
      seconds(60)))
      << "the worker holds " << most_held << " calls";
  EXPECT_EQ(most_held, kWindow);

  const weft::ObjectRef<int>& waiting = echoes.back();
  try {
    waiting.Get(milliseconds(100));
    ADD_FAILURE() << "a call waiting in the caller returned";
  } catch (const weft::GetTimeoutError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the call waits in this process: 10000 calls of its caller"));
  }
  EXPECT_EQ(weft::Cancel(waiting), weft::CancelOutcome::kDropped);
  EXPECT_THROW(waiting.Get(seconds(5)), weft::TaskCancelledError);

  weft::Kill(gate);
  EXPECT_THROW(stuck.Get(seconds(30)), weft::ActorDiedError);
  echoes.pop_back();
  ASSERT_TRUE(weft::Wait(echoes, echoes.size(), seconds(60)).not_ready.empty());
  int died = 0;
  for (const auto& echo : echoes) {
    try {
      echo.Get();
    } catch (const weft::ActorDiedError&) {
      ++died;
    }
  }
  EXPECT_EQ(died, kCalls - 1);
}

// On an actor that runs calls at once (async): 10,000 calls that wait on the worker for a value
// fill the caller's window, and 2,000 calls whose argument is that value wait in the caller
// for it, then for room. Once the value exists, every call runs.
TEST_F(ActorTest, CallsHeldBackByTheWindowGoOnceEarlierOnesAreAnswered) {
  auto gate = weft::Actor<Gate>().Remote(0);
  auto barrier = weft::Actor<Gate>().Remote(2);
  auto first = barrier.Call(&Gate::Arrive);  // until the second arrival
  std::vector<weft::ObjectRef<int>> calls;
  for (int i = 0; i < 10'000; ++i) calls.push_back(gate.Call(&Gate::AwaitRef, first));
  for (int i = 0; i < 2'000; ++i) calls.push_back(gate.Call(&Gate::Echo, first));
  EXPECT_EQ(barrier.Call(&Gate::Arrive).Get(seconds(30)), 2);
  ASSERT_TRUE(weft::Wait(calls, calls.size(), seconds(60)).not_ready.empty());
  for (int i = 0; i < 12'000; ++i) ASSERT_EQ(calls[i].Get(), i < 10'000 ? 2 : 1) << "call " << i;
}

TEST_F(ActorTest, AThousandCallsAreInFlightOnAnAsyncActorAtOnce) {
  // Each call waits until all 1000 have arrived: only possible if all are in flight together.
  auto gate = weft::Actor<Gate>().Remote(1000);
  std::vector<weft::ObjectRef<int>> refs;
  for (int i = 0; i < 1000; ++i) refs.push_back(gate.Call(&Gate::Arrive));
  std::vector<int> order;
  for (const auto& ref : refs) order.push_back(ref.Get(seconds(60)));
  std::sort(order.begin(), order.end());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i + 1);
}

TEST_F(ActorTest, SerialisedBarrierFailsByTimeoutNotByHanging) {
  // max_concurrency 1: the second arrival can never start while the first waits.
  auto gate = weft::Actor<Gate>({.max_concurrency = 1}).Remote(2);
  auto first = gate.Call(&Gate::Arrive);
  auto second = gate.Call(&Gate::Arrive);
  try {
    first.Get(milliseconds(1500));
    FAIL() << "a serialised barrier completed";
  } catch (const weft::Error& e) {
    EXPECT_EQ(e.code(), 4);
  }
}

TEST_F(ActorTest, MaxConcurrencyTwoRunsTwoCallsAtATime) {
  auto gate = weft::Actor<Gate>({.max_concurrency = 2}).Remote(0);
  std::vector<weft::ObjectRef<std::pair<int64_t, int64_t>>> refs;
  for (int i = 0; i < 6; ++i) refs.push_back(gate.Call(&Gate::Timed, 200));
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const auto& ref : refs) spans.push_back(ref.Get(seconds(30)));
  // At every start, count the calls running: never more than two, and two at some point.
  int most = 0;
  for (const auto& [start, end] : spans) {
    int running = 0;
    for (const auto& [s, e] : spans) running += s <= start && start < e;
    most = std::max(most, running);
  }
  EXPECT_EQ(most, 2);
}

TEST_F(ActorTest, ThreadPoolOfTwoRunsCpuBoundMethodsInParallel) {
  auto spinner = weft::Actor<Spinner>({.max_concurrency = 2}).Remote();
  auto a = spinner.Call(&Spinner::Spin, 400);
  auto b = spinner.Call(&Spinner::Spin, 400);
  const auto [a_start, a_end] = a.Get(seconds(30));
  const auto [b_start, b_end] = b.Get(seconds(30));
  EXPECT_LT(std::max(a_start, b_start), std::min(a_end, b_end)) << "the two calls did not overlap";
}

TEST_F(ActorTest, ThreadPoolOfOneRunsOneCallAtATime) {
  auto spinner = weft::Actor<Spinner>().Remote();
  auto a = spinner.Call(&Spinner::Spin, 100);
  auto b = spinner.Call(&Spinner::Spin, 100);
  const auto [a_start, a_end] = a.Get(seconds(30));
  const auto [b_start, b_end] = b.Get(seconds(30));
  EXPECT_GE(b_start, a_end);
}

TEST_F(ActorTest, LargeResultAndARefPassedBetweenActorsOnTwoNodes) {
  auto producer = weft::Actor<Recorder>({.resources = {{"head_node", 1}}}).Remote();
  auto consumer = weft::Actor<Recorder>({.resources = {{"second_node", 1}}}).Remote();
  const int64_t size = 10 << 20;
  weft::ObjectRef<std::string> blob = producer.Call(&Recorder::Blob, size);
  // The consumer on the other node gets the value through the object directory.
  const int64_t remote_sum = consumer.Call(&Recorder::Checksum, blob).Get(seconds(60));
  // The driver fetches the bytes straight from the producer.
  const std::string here = blob.Get(seconds(60));
  ASSERT_EQ(static_cast<int64_t>(here.size()), size);
  Recorder local;
  EXPECT_EQ(remote_sum, local.Checksum(here));
  EXPECT_EQ(here, local.Blob(size));
}

TEST_F(ActorTest, AThrowingMethodRethrowsWithTypeMessageActorAndNode) {
  auto recorder = weft::Actor<Recorder>().Remote();
  auto ref = recorder.Call(&Recorder::Fail, std::string("bad input"));
  try {
    ref.Get(seconds(30));
    FAIL() << "no exception";
  } catch (const weft::RemoteError& e) {
    EXPECT_EQ(e.type(), "std::invalid_argument");
    EXPECT_EQ(e.message(), "bad input");
    EXPECT_EQ(e.origin().actor_id, recorder.id());
    EXPECT_EQ(e.origin().class_name, "Recorder");
    EXPECT_EQ(e.origin().method, "Fail");
    EXPECT_FALSE(e.origin().node_id.empty());
    EXPECT_THAT(e.what(), HasSubstr("std::invalid_argument: bad input"));
  }
  // The actor keeps serving.
  EXPECT_EQ(recorder.Call(&Recorder::Echo, 7).Get(seconds(30)), 7);
}

TEST_F(ActorTest, UnknownNamedActorIsNotFound) {
  try {
    weft::GetActor<Recorder>("nobody");
    FAIL() << "found an actor that does not exist";
  } catch (const weft::Error& e) {
    EXPECT_EQ(e.code(), 5);
    EXPECT_THAT(e.what(), HasSubstr("nobody"));
  }
}

TEST_F(ActorTest, NamedActorIsFoundAndGetIfExistsReturnsIt) {
  auto named = weft::Actor<Recorder>({.name = "keeper"}).Remote();
  named.Call(&Recorder::Append, 41).Get(seconds(30));
  auto found = weft::GetActor<Recorder>("keeper");
  EXPECT_EQ(found.id(), named.id());
  auto again = weft::Actor<Recorder>({.name = "keeper", .get_if_exists = true}).Remote();
  EXPECT_EQ(again.id(), named.id());
  EXPECT_EQ(again.Call(&Recorder::Sequence).Get(seconds(30)), std::vector<int>{41});
  try {
    weft::Actor<Recorder>({.name = "keeper"}).Remote();
    FAIL() << "two live actors share a name";
  } catch (const weft::Error& e) {
    EXPECT_EQ(e.code(), 6);
  }
}

TEST_F(ActorTest, CallsToAKilledActorFailClearly) {
  auto recorder = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(recorder.Call(&Recorder::Echo, 1).Get(seconds(30)), 1);
  weft::Kill(recorder);
  auto after = recorder.Call(&Recorder::Echo, 2);
  try {
    after.Get(seconds(30));
    FAIL() << "a killed actor answered";
  } catch (const weft::RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("dead"));
  }
  // The cluster keeps serving.
  auto other = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(other.Call(&Recorder::Echo, 3).Get(seconds(30)), 3);
}

// As in Ray, creating an actor does not wait for the head: Remote() returns while the head is
// stopped (SIGSTOP), the calls made meanwhile queue here, and all of them run once it is back.
TEST_F(ActorTest, CreatingAnActorDoesNotWaitForTheHead) {
  auto first = weft::Actor<Recorder>().Remote();
  ASSERT_EQ(first.Call(&Recorder::Echo, -1).Get(seconds(30)), -1);
  const pid_t head = cluster_->HeadPid();
  ASSERT_GT(head, 0);
  ASSERT_EQ(kill(head, SIGSTOP), 0);
  std::vector<weft::ActorHandle<Recorder>> actors;
  std::vector<weft::ObjectRef<int>> echoes;
  std::promise<void> created;
  std::thread creating([&] {
    for (int i = 0; i < 20; ++i) {
      actors.push_back(weft::Actor<Recorder>().Remote());
      echoes.push_back(actors.back().Call(&Recorder::Echo, i));
    }
    created.set_value();
  });
  const bool returned = created.get_future().wait_for(seconds(10)) == std::future_status::ready;
  kill(head, SIGCONT);
  creating.join();
  EXPECT_TRUE(returned) << "Remote() waited for a stopped head";
  for (int i = 0; i < 20; ++i) EXPECT_EQ(echoes[i].Get(seconds(30)), i);
  // Options the head would refuse still throw from Remote(), not later.
  EXPECT_THROW(weft::Actor<Recorder>({.max_restarts = -2}).Remote(), weft::Error);
}

// A loop that creates actors and calls each at once, as users write it: every call is answered,
// whatever state the head's answer to the creation found the actor in (it may be ALIVE already).
TEST_F(ActorTest, ActorsCreatedInALoopEachAnswerTheirFirstCall) {
  std::vector<weft::ActorHandle<Recorder>> actors;
  std::vector<weft::ObjectRef<int>> echoes;
  for (int i = 0; i < 300; ++i) {
    actors.push_back(weft::Actor<Recorder>().Remote());
    echoes.push_back(actors.back().Call(&Recorder::Echo, i));
  }
  for (int i = 0; i < 300; ++i) ASSERT_EQ(echoes[i].Get(seconds(60)), i);
}

// A Kill right after Remote() (the head may not have the actor yet) kills it.
TEST_F(ActorTest, AnActorKilledRightAfterRemoteIsDead) {
  auto actor = weft::Actor<Recorder>().Remote();
  weft::Kill(actor);
  try {
    actor.Call(&Recorder::Echo, 1).Get(seconds(30));
    FAIL() << "a killed actor answered";
  } catch (const weft::RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("dead"));
  }
}

// A job's actors that are not detached end with it. One asked for after the job ended (a
// request late on the wire, a task of the job still running) is refused rather than left to
// live on with nothing to end it; a detached one may still be made.
TEST_F(ActorTest, AnActorOfAJobThatHasEndedIsRefusedUnlessDetached) {
  auto channel = weft::MakeChannel(cluster_->head_address(), cluster_->token());
  auto jobs = weft::proto::JobRegistry::NewStub(channel);
  auto directory = weft::proto::ActorDirectory::NewStub(channel);
  weft::proto::RegisterJobRequest registering;
  registering.set_namespace_("ended");
  registering.set_driver_pid(getpid());
  // A unary call with the control-plane deadline.
  auto ask = [](const auto& call) {
    grpc::ClientContext context;
    weft::SetTimeout(context, weft::kControlRpcTimeout);
    return call(&context);
  };
  weft::proto::RegisterJobReply job;
  ASSERT_TRUE(ask([&](auto* c) { return jobs->RegisterJob(c, registering, &job); }).ok());
  weft::proto::FinishJobRequest finishing;
  finishing.set_job_id(job.job().job_id());
  weft::proto::FinishJobReply finished;
  ASSERT_TRUE(ask([&](auto* c) { return jobs->FinishJob(c, finishing, &finished); }).ok());
  auto create = [&](bool detached, weft::proto::CreateActorReply* reply) {
    weft::proto::CreateActorRequest request;
    request.mutable_spec()->set_class_name("Recorder");
    request.mutable_spec()->set_job_id(job.job().job_id());
    request.mutable_spec()->set_detached(detached);
    return ask([&](auto* c) { return directory->CreateActor(c, request, reply); });
  };
  weft::proto::CreateActorReply reply;
  const grpc::Status refused = create(false, &reply);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("has ended"));
  const grpc::Status detached = create(true, &reply);
  ASSERT_TRUE(detached.ok()) << detached.error_message();
  weft::proto::KillActorRequest kill;
  kill.set_actor_id(reply.actor().actor_id());
  weft::proto::KillActorReply killed;
  EXPECT_TRUE(ask([&](auto* c) { return directory->KillActor(c, kill, &killed); }).ok());
}

TEST_F(ActorTest, ImpossibleResourcesKeepTheActorPendingAndSayWhy) {
  auto greedy = weft::Actor<Recorder>({.resources = {{"GPU", 64}}}).Remote();
  auto ref = greedy.Call(&Recorder::Echo, 1);
  try {
    ref.Get(milliseconds(1500));
    FAIL() << "an impossible actor ran";
  } catch (const weft::Error& e) {
    EXPECT_EQ(e.code(), 4);
    EXPECT_THAT(e.what(), HasSubstr("pending"));
    EXPECT_THAT(e.what(), HasSubstr("GPU"));
  }
  auto other = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(other.Call(&Recorder::Echo, 3).Get(seconds(30)), 3);
}

TEST_F(ActorTest, MaxPendingCallsExceededIsRefusedAndNothingIsLost) {
  auto recorder = weft::Actor<Recorder>({.max_pending_calls = 2}).Remote();
  auto a = recorder.Call(&Recorder::SlowEcho, 1, 300);
  auto b = recorder.Call(&Recorder::SlowEcho, 2, 0);
  try {
    recorder.Call(&Recorder::Echo, 3);
    FAIL() << "a third call was accepted";
  } catch (const weft::Error& e) {
    EXPECT_EQ(e.code(), 8);
    EXPECT_THAT(e.what(), HasSubstr("max_pending_calls"));
  }
  EXPECT_EQ(a.Get(seconds(30)), 1);
  EXPECT_EQ(b.Get(seconds(30)), 2);
  EXPECT_EQ(recorder.Call(&Recorder::Echo, 4).Get(seconds(30)), 4);
}

TEST_F(ActorTest, AsyncActorAwaitsARefAndAnotherActorsCall) {
  auto gate = weft::Actor<Gate>().Remote(0);
  auto recorder = weft::Actor<Recorder>({.name = "helper"}).Remote();
  auto seven = recorder.Call(&Recorder::Echo, 7);
  EXPECT_EQ(gate.Call(&Gate::AwaitRef, seven).Get(seconds(30)), 8);
  EXPECT_EQ(gate.Call(&Gate::AskRecorder, std::string("helper"), 5).Get(seconds(30)), 5);
}

TEST_F(ActorTest, BlockingGetOnTheEventLoopIsAnErrorNamingCoAwait) {
  auto gate = weft::Actor<Gate>().Remote(0);
  auto recorder = weft::Actor<Recorder>({.name = "slow"}).Remote();
  recorder.Call(&Recorder::Echo, 0).Get(seconds(30));
  try {
    gate.Call(&Gate::GetFromRecorder, std::string("slow"), 1).Get(seconds(30));
    FAIL() << "a blocking Get ran on an event loop";
  } catch (const weft::RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("co_await"));
  }
}

TEST_F(ActorTest, ActorsShareAProcessUnlessOneAsksForItsOwn) {
  // Default actors spread over the two nodes, one shared worker per node: of three, two share.
  std::vector<weft::ActorHandle<Recorder>> shared;
  for (int i = 0; i < 3; ++i) shared.push_back(weft::Actor<Recorder>().Remote());
  auto own = weft::Actor<Recorder>({.dedicated_process = true}).Remote();
  std::set<int> pids;
  for (const auto& actor : shared) pids.insert(actor.Call(&Recorder::Pid).Get(seconds(30)));
  EXPECT_EQ(pids.size(), 2u) << "three default actors on two nodes should share two workers";
  EXPECT_FALSE(pids.contains(own.Call(&Recorder::Pid).Get(seconds(30))));
}

// Registered in the test executable only: workers cannot load it.
class NotInALibrary {
 public:
  int Ping() { return 1; }
};
const auto kNotInALibrary =
    weft::ActorClass<NotInALibrary>("NotInALibrary").Method("Ping", &NotInALibrary::Ping);

TEST_F(ActorTest, AClassNoWorkerCanLoadFailsItsCallsClearly) {
  auto actor = weft::Actor<NotInALibrary>().Remote();
  try {
    actor.Call(&NotInALibrary::Ping).Get(seconds(30));
    FAIL() << "an unloadable class ran";
  } catch (const weft::RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("NotInALibrary is not registered in this worker"));
  }
  auto other = weft::Actor<Recorder>().Remote();
  EXPECT_EQ(other.Call(&Recorder::Echo, 3).Get(seconds(30)), 3);
}

TEST_F(ActorTest, TasksRunAndTakeReferencesAsArguments) {
  auto three = weft::Task(&Add).Remote(1, 2);
  EXPECT_EQ(three.Get(seconds(30)), 3);
  auto ten = weft::Task(&Add).Remote(three, 7);
  EXPECT_EQ(ten.Get(seconds(30)), 10);
  auto put = weft::Put(32);
  EXPECT_EQ(weft::Task(&Add).Remote(put, ten).Get(seconds(30)), 42);
}

TEST_F(ActorTest, ManyTasksSpreadOverSeveralWorkers) {
  std::vector<weft::ObjectRef<int>> refs;
  for (int i = 0; i < 60; ++i) refs.push_back(weft::Task(&PidAfter).Remote(50));
  std::set<int> pids;
  for (const auto& ref : refs) pids.insert(ref.Get(seconds(60)));
  EXPECT_GE(pids.size(), 2u) << "every task ran in one worker process";
}

TEST_F(ActorTest, WaitReturnsReadyAndNotReady) {
  auto recorder = weft::Actor<Recorder>({.max_concurrency = 2}).Remote();
  std::vector<weft::ObjectRef<int>> refs{recorder.Call(&Recorder::SlowEcho, 1, 0),
                                         recorder.Call(&Recorder::SlowEcho, 2, 3000)};
  auto result = weft::Wait(refs, 1, seconds(20));
  ASSERT_EQ(result.ready.size(), 1u);
  ASSERT_EQ(result.not_ready.size(), 1u);
  EXPECT_EQ(result.ready[0].Get(), 1);
  EXPECT_EQ(result.not_ready[0], refs[1]);
}

TEST_F(ActorTest, WaitWithoutFetchLocalLeavesALargeResultWhereItIs) {
  auto recorder = weft::Actor<Recorder>().Remote();
  const int64_t size = 8 << 20;  // stored by the worker, not sent with the reply
  auto blob = recorder.Call(&Recorder::Blob, size);
  auto result = weft::Wait(std::vector{blob}, 1, seconds(30), /*fetch_local=*/false);
  ASSERT_EQ(result.ready.size(), 1u);
  EXPECT_FALSE(blob.IsReady()) << "the bytes were fetched although fetch_local was false";
  // Wait's default fetches it; then Get has it at once.
  ASSERT_EQ(weft::Wait(std::vector{blob}, 1, seconds(60)).ready.size(), 1u);
  EXPECT_TRUE(blob.IsReady());
  EXPECT_EQ(blob.Get(std::chrono::milliseconds(0)), Recorder().Blob(size));
}

TEST_F(ActorTest, FutureAndCoAwaitFromTheDriver) {
  auto recorder = weft::Actor<Recorder>().Remote();
  auto ref = recorder.Call(&Recorder::Echo, 5);
  EXPECT_EQ(ref.Future().get(), 5);
  const int sum = weft::RunSync([](weft::ObjectRef<int> r) -> weft::Async<int> {
    const int v = co_await r;
    co_return v * 2;
  }(recorder.Call(&Recorder::Echo, 21)));
  EXPECT_EQ(sum, 42);
}

}  // namespace
}  // namespace weft::testing
