// The state API from C++ (weft/state.h) against a real three-node cluster: where an actor runs
// and in what state, actors listed with filters, the nodes, from the driver and from a task,
// and the same answers as `weft list actors --format json`.

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

class StateApiTest : public ThreeNodeClusterTest {};

std::set<std::string> IdsOf(const std::vector<weft::ActorInfo>& actors) {
  std::set<std::string> ids;
  for (const auto& actor : actors) ids.insert(actor.actor_id);
  return ids;
}

std::set<std::string> AliveNodeIds() {
  std::set<std::string> ids;
  for (const auto& node : weft::ListNodes()) {
    if (node.alive) ids.insert(node.node_id);
  }
  return ids;
}

bool Recent(std::chrono::system_clock::time_point t) {
  const auto age = std::chrono::system_clock::now() - t;
  return age > -std::chrono::seconds(5) && age < std::chrono::minutes(2);
}

TEST_F(StateApiTest, AnActorAskedForAtOnceAfterRemoteIsKnownThenShowsWhereAndHowItRuns) {
  auto recorder = weft::Actor<Recorder>({.name = "state-recorder"}).Remote();
  auto gate = weft::Actor<Gate>().Remote(0);  // anonymous: Remote() does not wait for the head

  const weft::ActorInfo first = weft::GetActorInfo(gate);
  EXPECT_EQ(first.actor_id, gate.id());
  EXPECT_EQ(first.class_name, "Gate");
  EXPECT_NE(first.state, weft::ActorState::kDead) << first.death_reason;

  const int pid = recorder.Call(&Recorder::Pid).Get(kBound);
  EXPECT_EQ(gate.Call(&Gate::Echo, 7).Get(kBound), 7);

  const weft::ActorInfo info = weft::GetActorInfo(recorder);
  EXPECT_EQ(info.actor_id, recorder.id());
  EXPECT_EQ(info.class_name, "Recorder");
  EXPECT_EQ(info.name, "state-recorder");
  EXPECT_EQ(info.ns, "default");
  EXPECT_EQ(info.state, weft::ActorState::kAlive);
  EXPECT_EQ(weft::ToString(info.state), "ALIVE");
  EXPECT_EQ(info.pid, pid);
  EXPECT_EQ(info.executor, "thread_pool");
  EXPECT_EQ(info.max_concurrency, 1);
  EXPECT_EQ(AliveNodeIds().count(info.node_id), 1u) << info.node_id;
  EXPECT_FALSE(info.address.empty());
  EXPECT_FALSE(info.worker_id.empty());
  EXPECT_TRUE(info.death_reason.empty());
  EXPECT_TRUE(Recent(info.created));
  ASSERT_TRUE(info.calls.has_value()) << "its worker reported no call counts";
  EXPECT_EQ(info.calls->finished, 1);  // Pid

  const weft::ActorInfo async_info = weft::GetActorInfo(gate);
  EXPECT_EQ(async_info.state, weft::ActorState::kAlive);
  EXPECT_EQ(async_info.executor, "async");
  EXPECT_EQ(async_info.max_concurrency, 1000);
  EXPECT_EQ(async_info.job_id, info.job_id);
}

TEST_F(StateApiTest, CallCountsFollowTheActorsRunningQueuedAndFinishedCalls) {
  auto recorder = weft::Actor<Recorder>().Remote();
  std::vector<weft::ObjectRef<int>> slow;
  for (int i = 0; i < 3; ++i) slow.push_back(recorder.Call(&Recorder::SlowEcho, i, 1500));

  // One call at a time: while the first runs, the others wait their turn in the worker.
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto calls = weft::GetActorInfo(recorder).calls;
        return calls && calls->running == 1 && calls->queued >= 1;
      },
      kBound));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(slow[i].Get(kBound), i);
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto calls = weft::GetActorInfo(recorder).calls;
        return calls && calls->finished == 3 && calls->running == 0 && calls->queued == 0;
      },
      kBound));
}

TEST_F(StateApiTest, ListActorsFiltersByStateClassNameNodeAndJob) {
  auto kept = weft::Actor<Recorder>({.name = "listed-kept"}).Remote();
  auto spinner = weft::Actor<Spinner>().Remote();
  auto killed = weft::Actor<Recorder>({.name = "listed-killed"}).Remote();
  const int kept_pid = kept.Call(&Recorder::Pid).Get(kBound);
  weft::Kill(killed);

  // At once: this driver's own creations are listed, anonymous ones too.
  const auto all = weft::ListActors();
  const auto all_ids = IdsOf(all);
  for (const auto* id : {&kept.id(), &spinner.id(), &killed.id()}) {
    EXPECT_EQ(all_ids.count(*id), 1u) << *id;
  }
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const auto& a, const auto& b) { return a.actor_id < b.actor_id; }));

  const auto dead = weft::ListActors({.state = weft::ActorState::kDead});
  EXPECT_EQ(IdsOf(dead).count(killed.id()), 1u);
  EXPECT_EQ(IdsOf(dead).count(kept.id()), 0u);
  for (const auto& actor : dead) {
    EXPECT_EQ(actor.state, weft::ActorState::kDead);
    if (actor.actor_id == killed.id()) EXPECT_THAT(actor.death_reason, HasSubstr("weft::Kill"));
    EXPECT_FALSE(actor.calls.has_value());  // no worker to ask
  }

  const auto spinners = weft::ListActors({.class_name = "Spinner"});
  EXPECT_EQ(IdsOf(spinners).count(spinner.id()), 1u);
  for (const auto& actor : spinners) EXPECT_EQ(actor.class_name, "Spinner");

  const auto named = weft::ListActors({.name = "listed-kept"});
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].actor_id, kept.id());
  EXPECT_EQ(named[0].pid, kept_pid);

  const std::string node = named[0].node_id;
  const auto on_node = weft::ListActors({.node_id = node.substr(0, 6)});
  EXPECT_EQ(IdsOf(on_node).count(kept.id()), 1u);
  for (const auto& actor : on_node) EXPECT_TRUE(absl::StartsWith(actor.node_id, node.substr(0, 6)));

  const auto of_job = weft::ListActors({.job_id = named[0].job_id});
  EXPECT_EQ(IdsOf(of_job).size(), all_ids.size());  // one driver: every actor is its job's
  EXPECT_TRUE(weft::ListActors({.job_id = "no-such-job"}).empty());

  const auto both = weft::ListActors({.state = weft::ActorState::kAlive, .name = "listed-killed"});
  EXPECT_TRUE(both.empty()) << "every field set must match";
}

TEST_F(StateApiTest, AnswersAsTheCliDoes) {
  auto recorder = weft::Actor<Recorder>({.name = "cli-twin"}).Remote();
  auto gate = weft::Actor<Gate>().Remote(0);
  recorder.Call(&Recorder::Pid).Get(kBound);
  gate.Call(&Gate::Echo, 1).Get(kBound);

  const auto from_code = weft::ListActors();
  const auto result =
      Weft({"list", "actors", "--format", "json", "--session-dir", cluster_->head_session()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  google::protobuf::ListValue from_cli;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &from_cli).ok())
      << result.out;
  ASSERT_EQ(from_cli.values_size(), static_cast<int>(from_code.size()));
  for (int i = 0; i < from_cli.values_size(); ++i) {
    const auto& json = from_cli.values(i).struct_value().fields();
    const weft::ActorInfo& actor = from_code[i];
    SCOPED_TRACE(actor.actor_id);
    EXPECT_EQ(json.at("actor_id").string_value(), actor.actor_id);
    EXPECT_EQ(json.at("class_name").string_value(), actor.class_name);
    EXPECT_EQ(json.at("name").string_value(), actor.name);
    EXPECT_EQ(json.at("namespace").string_value(), actor.ns);
    EXPECT_EQ(json.at("state").string_value(), weft::ToString(actor.state));
    EXPECT_EQ(json.at("job_id").string_value(), actor.job_id);
    EXPECT_EQ(json.at("node_id").string_value(), actor.node_id);
    EXPECT_EQ(json.at("worker_id").string_value(), actor.worker_id);
    EXPECT_EQ(json.at("address").string_value(), actor.address);
    EXPECT_EQ(json.at("pid").number_value(), actor.pid);
    EXPECT_EQ(json.at("executor").string_value(), actor.executor);
    EXPECT_EQ(json.at("max_concurrency").number_value(), actor.max_concurrency);
    EXPECT_EQ(json.at("num_restarts").number_value(), actor.num_restarts);
    EXPECT_EQ(json.at("detached").bool_value(), actor.detached);
    EXPECT_EQ(
        json.at("created_unix_ms").number_value(),
        std::chrono::duration_cast<std::chrono::milliseconds>(actor.created.time_since_epoch())
            .count());
    ASSERT_EQ(json.at("finished").has_number_value(), actor.calls.has_value());
    if (actor.calls) EXPECT_EQ(json.at("finished").number_value(), actor.calls->finished);
  }
}

TEST_F(StateApiTest, AnUnknownActorIsNotFound) {
  try {
    weft::GetActorInfo("0123456789abcdef");
    FAIL() << "no error";
  } catch (const weft::Error& e) {
    EXPECT_EQ(e.error_code(), weft::ErrorCode::kNotFound);
    EXPECT_THAT(e.what(), HasSubstr("0123456789abcdef"));
  }
}

TEST_F(StateApiTest, ListNodesShowsEveryNodeWithItsResourcesAndDaemon) {
  const auto nodes = weft::ListNodes();
  ASSERT_EQ(nodes.size(), 3u);
  std::set<std::string> expected;
  const proto::ListNodesReply table = cluster_->ListNodes();
  for (const auto& node : table.nodes()) expected.insert(node.node_id());
  int heads = 0;
  for (const auto& node : nodes) {
    SCOPED_TRACE(node.node_id);
    EXPECT_EQ(expected.count(node.node_id), 1u);
    EXPECT_TRUE(node.alive);
    heads += node.is_head ? 1 : 0;
    EXPECT_FALSE(node.address.empty());
    EXPECT_EQ(node.total.at("CPU"), 2);
    EXPECT_GT(node.total.at("memory"), 0);
    EXPECT_LE(node.available.at("CPU"), node.total.at("CPU"));
    EXPECT_GT(node.raylet_pid, 0);
    EXPECT_EQ(kill(node.raylet_pid, 0), 0) << "its daemon is not running";
    EXPECT_TRUE(Recent(node.last_heartbeat));
    EXPECT_TRUE(node.death_reason.empty());
  }
  EXPECT_EQ(heads, 1);
}

TEST_F(StateApiTest, ATaskAsksTheStateOfAnActor) {
  auto recorder = weft::Actor<Recorder>().Remote();
  const int pid = recorder.Call(&Recorder::Pid).Get(kBound);
  EXPECT_EQ(weft::Task(&StateSeenInside).Remote(recorder.id()).Get(kBound),
            "ALIVE pid=" + std::to_string(pid));
}

// `weft status`, as `ray status`: each node's use of its resources, and the actors that wait
// for resources with why.
TEST_F(StateApiTest, StatusShowsEachNodeAndTheActorsWaitingForResources) {
  auto waiting = weft::Actor<Recorder>({.num_cpus = 64}).Remote();  // more than any node has
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto info = weft::GetActorInfo(waiting);
        return info.state == weft::ActorState::kPending && !info.pending_reason.empty();
      },
      kBound));
  const std::string reason = weft::GetActorInfo(waiting).pending_reason;
  const auto status = Weft({"status", "--session-dir", cluster_->head_session()});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("Pending actors: 1\n  Recorder x1: " + reason + "\n"));
  EXPECT_THAT(status.out, HasSubstr("Per node (used/total):"));
  for (const auto& node : weft::ListNodes()) EXPECT_THAT(status.out, HasSubstr(node.node_id));
  weft::Kill(waiting);
}

}  // namespace
}  // namespace weft::testing
