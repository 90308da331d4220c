// A head that dies and comes back (issue 12), with real daemons: killed with SIGKILL during a
// workload of calls to detached actors on two nodes, then started again on its session dir and
// port, it takes its cluster over from its store (the default embedded one, or Redis for a head
// started elsewhere): nodes keep their ids and workers, actors their state and ids, the
// driver's job goes on, and nothing acknowledged is lost. A damaged store is refused naming the
// file; nodes refuse a head of another cluster or with another token.
//
// Every cluster here runs with the defaults a user gets (no timeouts tuned).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/auth.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "tests/cluster_harness.h"
#include "tests/redis_server.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

// Kills the head's raylet with SIGKILL and waits until it is gone.
void KillHead(TestCluster& cluster) {
  const pid_t head = cluster.HeadPid();
  ASSERT_GT(head, 0);
  ASSERT_EQ(kill(head, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(head); }, std::chrono::seconds(10)));
}

int ReadCount(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  return in >> n ? n : 0;
}

// The ALIVE node of each node session, by its raylet's pid.
std::vector<std::string> NodeIds(const TestCluster& cluster,
                                 const std::vector<std::string>& sessions) {
  std::vector<std::string> ids;
  for (const auto& session : sessions) {
    const auto pids = RayletPids(session);
    if (pids.size() != 1) return {};
    const auto id = cluster.AliveNodeOf(pids[0]);
    if (!id) return {};
    ids.push_back(*id);
  }
  return ids;
}

proto::ActorInfo ActorNamed(const TestCluster& cluster, const std::string& name) {
  auto stub = proto::ActorDirectory::NewStub(MakeChannel(cluster.head_address(), cluster.token()));
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::GetActorRequest request;
  request.set_name(name);
  request.set_namespace_("default");
  proto::GetActorReply reply;
  return stub->GetActor(&context, request, &reply).ok() ? reply.actor() : proto::ActorInfo();
}

std::string NodeLog(const std::string& session) {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(SessionDir(session).LogsDir())) {
    if (absl::StartsWith(entry.path().filename().string(), "raylet-node-")) {
      all += ReadFile(entry.path().string()).value_or("");
    }
  }
  return all;
}

// Runs head_restart_driver's workload of calls to detached actors on two nodes, SIGKILLs the
// head while it runs, starts it again with `restart`, and checks that the workload went on
// while no head ran and finished after the restart with nothing lost, that the nodes, actors
// and job were taken over as they were, and how long the nodes took to come back.
void KillTheHeadDuringCallsAndRestartIt(TestCluster& cluster,
                                        const std::function<CommandResult()>& restart) {
  const std::vector<std::string> sessions = {
      cluster.JoinNode({"--num-cpus", "1", "--resources", R"({"a": 2})"}),
      cluster.JoinNode({"--num-cpus", "1", "--resources", R"({"b": 1})"})};
  ASSERT_FALSE(sessions[0].empty() || sessions[1].empty());
  const auto nodes = NodeIds(cluster, sessions);
  ASSERT_EQ(nodes.size(), 2u);
  const std::string cluster_id = cluster.ListNodes().cluster_id();

  TempDir dir;
  const std::string progress = dir.Sub("progress");
  auto driver = SpawnProcess({.argv = {BinPath("head_restart_driver"), dir.path()},
                              .extra_env = {"WEFT_SESSION_DIR=" + cluster.head_session()},
                              .stdout_path = dir.Sub("out"),
                              .stderr_path = dir.Sub("err")});
  ASSERT_TRUE(driver.ok()) << driver.status();
  ASSERT_TRUE(WaitFor([&] { return ReadCount(progress) >= 20; }, std::chrono::seconds(60)))
      << ReadFile(dir.Sub("err")).value_or("");
  const proto::ActorInfo left = ActorNamed(cluster, "left");
  const proto::ActorInfo right = ActorNamed(cluster, "right");
  ASSERT_EQ(left.state(), proto::ACTOR_ALIVE);
  ASSERT_EQ(right.state(), proto::ACTOR_ALIVE);
  ASSERT_NE(left.node_id(), right.node_id());
  const proto::ActorInfo owned = ActorNamed(cluster, "owned");
  ASSERT_EQ(owned.state(), proto::ACTOR_ALIVE);

  KillHead(cluster);
  std::ofstream(dir.Sub("killed")) << "now\n";  // the driver creates an actor, which waits
  // Calls go straight to the workers: the workload goes on while no head runs.
  const int at_kill = ReadCount(progress);
  EXPECT_TRUE(
      WaitFor([&] { return ReadCount(progress) >= at_kill + 20; }, std::chrono::seconds(20)))
      << "calls stopped with the head at round " << ReadCount(progress);
  EXPECT_EQ(RayletPids(sessions[0]).size(), 1u) << "a node's raylet exited with its head";
  EXPECT_EQ(RayletPids(sessions[1]).size(), 1u) << "a node's raylet exited with its head";

  const auto restart_began = Clock::now();
  const auto restarted = restart();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  // Recovered once both nodes heartbeat to the new head (they report their workers again).
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto listed = cluster.ListNodes();
        int back = 0;
        for (const auto& node : listed.nodes()) {
          back += node.state() == proto::NODE_ALIVE && node.num_workers() > 0;
        }
        return back == 2;
      },
      std::chrono::seconds(20)))
      << "the nodes did not come back";
  const auto recovery =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restart_began);
  std::cout << "[ recovery ] head restarted and both nodes back in " << recovery.count()
            << " ms (weft start included)" << std::endl;
  EXPECT_EQ(cluster.ListNodes().cluster_id(), cluster_id);
  EXPECT_EQ(NodeIds(cluster, sessions), nodes) << "nodes rejoined under new ids";
  const proto::ActorInfo left_after = ActorNamed(cluster, "left");
  EXPECT_EQ(left_after.actor_id(), left.actor_id());
  EXPECT_EQ(left_after.state(), proto::ACTOR_ALIVE);
  EXPECT_EQ(left_after.worker_id(), left.worker_id()) << "the actor was restarted";
  EXPECT_EQ(ActorNamed(cluster, "right").worker_id(), right.worker_id());

  std::ofstream(dir.Sub("restarted")) << "now\n";
  int status = 0;
  ASSERT_TRUE(WaitFor([&] { return waitpid(*driver, &status, WNOHANG) == *driver; },
                      std::chrono::seconds(120)));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << DescribeWaitStatus(status) << "\n"
      << ReadFile(dir.Sub("err")).value_or("");
  EXPECT_THAT(ReadFile(dir.Sub("out")).value_or(""), HasSubstr("rounds="));
  EXPECT_THAT(ReadFile(dir.Sub("out")).value_or(""), HasSubstr("shout after the restart"))
      << "worker output did not reach the driver after the restart";
  // The driver's job lived through the restart and finished normally.
  auto jobs = proto::JobRegistry::NewStub(MakeChannel(cluster.head_address(), cluster.token()));
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::ListJobsReply listed;
  ASSERT_TRUE(jobs->ListJobs(&context, proto::ListJobsRequest(), &listed).ok());
  ASSERT_EQ(listed.jobs_size(), 1);
  EXPECT_EQ(listed.jobs(0).state(), proto::JOB_FINISHED) << listed.jobs(0).end_reason();
  // Its actor that was not detached went with it, worker and all, as without the restart.
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(owned.pid()); }, std::chrono::seconds(15)))
      << "the worker of a finished job's actor (pid " << owned.pid() << ") lives on";
  EXPECT_TRUE(ProcessAlive(left_after.pid())) << "a detached actor's worker ended with the job";
}

TEST(HeadRestartTest, KilledHeadTakesItsClusterBackAndNoAcknowledgedCallIsLost) {
  TestCluster cluster(0);  // the head runs no node: every actor lives on the two others
  KillTheHeadDuringCallsAndRestartIt(cluster, [&] { return cluster.RestartHead(); });
  // Its nodes still up, the head stops at once (it answers the actor waits it holds).
  const auto stopped = cluster.StopSession(cluster.head_session());
  EXPECT_THAT(stopped.out, Not(HasSubstr("forced"))) << stopped.out;
}

// Work under way when the head dies: actors whose constructors run (one on its job's shared
// worker, one in a process of its own whose constructor returns while no head runs) are
// constructed once, where they were placed (the shared worker refused a second construction:
// the actor died), and a task's worker leased from the old head ends with the job or when
// returned, as under one head.
TEST(HeadRestartTest, WorkUnderWayWhenTheHeadDiesIsNeitherRedoneNorLeftBehind) {
  TestCluster cluster(0);
  const std::string session = cluster.JoinNode({"--num-cpus", "2"});
  ASSERT_FALSE(session.empty());
  TempDir dir;
  auto driver = SpawnProcess({.argv = {BinPath("head_restart_pending_driver"), dir.path()},
                              .extra_env = {"WEFT_SESSION_DIR=" + cluster.head_session()},
                              .stdout_path = dir.Sub("out"),
                              .stderr_path = dir.Sub("err")});
  ASSERT_TRUE(driver.ok()) << driver.status();
  ASSERT_TRUE(WaitFor(
      [&] {
        return std::filesystem::exists(dir.Sub("second-waiting")) &&
               std::filesystem::exists(dir.Sub("third-waiting")) &&
               std::filesystem::exists(dir.Sub("task_pid"));
      },
      std::chrono::seconds(60)))
      << ReadFile(dir.Sub("err")).value_or("");
  const pid_t task_worker = ReadCount(dir.Sub("task_pid"));
  ASSERT_GT(task_worker, 0);

  KillHead(cluster);
  std::ofstream(dir.Sub("go-early")) << "now\n";  // "third"'s constructor returns, unheard
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir.Sub("third-done")); },
                      std::chrono::seconds(20)));
  const auto restarted = cluster.RestartHead();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto listed = cluster.ListNodes();
        return listed.nodes_size() > 0 && listed.nodes(0).num_workers() > 0;
      },
      std::chrono::seconds(20)))
      << "the node did not come back";
  EXPECT_EQ(ActorNamed(cluster, "third").state(), proto::ACTOR_ALIVE)
      << ActorNamed(cluster, "third").pending_reason();
  std::ofstream(dir.Sub("go")) << "now\n";

  int status = 0;
  ASSERT_TRUE(WaitFor([&] { return waitpid(*driver, &status, WNOHANG) == *driver; },
                      std::chrono::seconds(90)));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << DescribeWaitStatus(status) << "\n"
      << ReadFile(dir.Sub("err")).value_or("");
  std::ifstream constructions(dir.Sub("constructions"));
  int lines = 0;
  for (std::string line; std::getline(constructions, line);) ++lines;
  EXPECT_EQ(lines, 3) << "a constructor ran again after the restart";
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(task_worker); }, std::chrono::seconds(15)))
      << "the task worker leased from the killed head (pid " << task_worker << ") outlived its job";
}

// Jobs submitted to the cluster (issue 18) are the head's records: an ended one keeps how it
// ended, a running one goes on under the new head and is stopped through it.
TEST(HeadRestartTest, SubmittedJobsOutliveTheHeadAndARunningOneIsStoppedThroughTheNewOne) {
  TestCluster cluster(0);  // the head runs no driver: one that asks a CPU runs on the node
  ASSERT_FALSE(cluster.JoinNode({"--num-cpus", "2"}).empty());
  const auto job = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 2, {"--session-dir", cluster.head_session()});
    return Weft(std::move(args), std::chrono::seconds(90));
  };
  const auto done = job({"job", "submit", "--", BinPath("job_driver"), "exit", "0"});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  const auto submitted = job(
      {"job", "submit", "--num-cpus", "1", "--no-wait", "--", BinPath("job_driver"), "serve", "-"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string running(absl::StripAsciiWhitespace(submitted.out));
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(job({"job", "logs", running}).out, "actor pid");
      },
      std::chrono::seconds(60)));

  KillHead(cluster);
  const auto restarted = cluster.RestartHead();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;

  EXPECT_THAT(job({"job", "status", "job-0001"}).out, HasSubstr("SUCCEEDED"));
  // Its driver holds its job again (within the head's recovery grace): still RUNNING after it.
  EXPECT_FALSE(WaitFor(
      [&] {
        return !absl::StrContains(job({"job", "status", running}).out, "RUNNING");
      },
      std::chrono::seconds(12)))
      << job({"job", "status", running}).out;
  const auto stopped = job({"job", "stop", running});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr("STOPPED"));
}

// The head's tables in Redis: a head started on another session dir (another machine's, as
// far as the head knows) with the same storage and token takes the cluster over.
// A redis-server of the test's own, and a session dir for a head started "elsewhere" (it
// outlives each test's cluster, which stops the head started there).
class RedisHeadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::Installed()) {
      GTEST_SKIP() << "redis-server is not installed (scripts/install-deps.sh installs it)";
    }
    redis_ = std::make_unique<RedisServer>(data_.path());
    ASSERT_TRUE(redis_->ready()) << ReadFile(data_.Sub("redis.log")).value_or("");
  }

  TempDir data_;
  std::unique_ptr<RedisServer> redis_;
  TempDir elsewhere_;
};

TEST_F(RedisHeadTest, AHeadOnAnotherSessionDirTakesOverFromRedis) {
  TestCluster cluster(0, {"--storage", redis_->url()});
  KillTheHeadDuringCallsAndRestartIt(cluster, [&] {
    return cluster.RestartHead({"--token-file", cluster.token_file()}, elsewhere_.Sub("head"));
  });
  const auto stopped = cluster.StopSession(elsewhere_.Sub("head"));
  EXPECT_THAT(stopped.out, Not(HasSubstr("forced"))) << stopped.out;
}

// The cluster's token goes with its Redis store: a head restarted on its own session dir finds
// it there; one started elsewhere without it is refused instead of locking the nodes out.
TEST_F(RedisHeadTest, AHeadOnRedisWithoutTheClustersTokenIsRefused) {
  TestCluster cluster(0, {"--storage", redis_->url()});
  const std::string session = cluster.JoinNode({"--num-cpus", "1"});
  ASSERT_FALSE(session.empty());
  const auto nodes = NodeIds(cluster, {session});
  ASSERT_EQ(nodes.size(), 1u);
  const std::string cluster_id = cluster.ListNodes().cluster_id();
  KillHead(cluster);

  const auto refused = cluster.RestartHead({}, elsewhere_.Sub("head"));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.out + refused.err, HasSubstr("was started with another token"));

  const auto restarted = cluster.RestartHead();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  EXPECT_EQ(cluster.ListNodes().cluster_id(), cluster_id);
  EXPECT_TRUE(
      WaitFor([&] { return NodeIds(cluster, {session}) == nodes; }, std::chrono::seconds(10)))
      << "the node did not come back to its restarted head";
}

// One head at a time on a Redis store (each holds a lease on it and writes only under it): a
// second head is refused, naming the first, while the first renews its lease; a head stopped
// for longer than its lease is taken over, and stops when it wakes instead of serving on.
TEST_F(RedisHeadTest, OneHeadAtATimeAndOneTakenOverWhileStoppedStepsDown) {
  TestCluster cluster(0, {"--storage", redis_->url()});
  const std::string cluster_id = cluster.ListNodes().cluster_id();
  const pid_t first = cluster.HeadPid();
  ASSERT_GT(first, 0);
  const auto refused =
      cluster.RestartHead({"--token-file", cluster.token_file()}, elsewhere_.Sub("second"),
                          /*same_port=*/false);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.out + refused.err, HasSubstr("keeps renewing its lease"));
  EXPECT_THAT(refused.out + refused.err, HasSubstr("pid " + std::to_string(first)));
  EXPECT_EQ(cluster.ListNodes().cluster_id(), cluster_id) << "the first head stopped serving";

  ASSERT_EQ(kill(first, SIGSTOP), 0);
  const auto took_over =
      cluster.RestartHead({"--token-file", cluster.token_file()}, elsewhere_.Sub("third"),
                          /*same_port=*/false);
  kill(first, SIGCONT);
  ASSERT_EQ(took_over.exit_code, 0) << took_over.out << took_over.err;
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(first); }, std::chrono::seconds(10)))
      << "a head whose store was taken over serves on";
  std::string log;
  for (const auto& entry :
       std::filesystem::directory_iterator(SessionDir(cluster.head_session()).LogsDir())) {
    if (absl::StartsWith(entry.path().filename().string(), "raylet-head-")) {
      log += ReadFile(entry.path().string()).value_or("");
    }
  }
  EXPECT_THAT(log, HasSubstr("was taken over by"));
}

// A node keeps its workers while no head runs for as long as its head said (the head's
// --head-lost-timeout-ms, which a restarted head also waits for it), and no longer.
TEST(HeadRestartTest, ANodeKeepsItsWorkersForTheHeadLostTimeoutThenLeaves) {
  constexpr auto kHeadLost = std::chrono::seconds(6);
  TestCluster cluster(0, {"--head-lost-timeout-ms", "6000"});
  const std::string session = cluster.JoinNode({"--num-cpus", "1"});  // its own flag: 60 s
  ASSERT_FALSE(session.empty());
  const auto raylets = RayletPids(session);
  ASSERT_EQ(raylets.size(), 1u);
  proto::LeaseWorkerReply lease;
  const auto leased = cluster.Lease({{"CPU", 1}}, &lease);
  ASSERT_TRUE(leased.ok()) << leased.error_message();
  const pid_t worker = lease.worker().pid();

  const auto killed_at = Clock::now();
  KillHead(cluster);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(worker); }, kHeadLost + std::chrono::seconds(10)))
      << "the worker outlived the head lost timeout";
  const auto kept = Clock::now() - killed_at;
  // Counted by the node from its last answered heartbeat, up to a period or so before the
  // kill; without a head, 3.75 s of silence would fence it (the default node timeout's rule).
  EXPECT_GE(kept, kHeadLost - std::chrono::seconds(2))
      << "the node stopped its workers before the head lost timeout";
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(raylets[0]); }, std::chrono::seconds(10)));
  EXPECT_THAT(NodeLog(session), HasSubstr("has been down for"));
}

TEST(HeadRestartTest, DamagedStoreIsRefusedNamingTheFileAndFreshStateStartsANewCluster) {
  TestCluster cluster(0);
  const std::string old_id = cluster.ListNodes().cluster_id();
  KillHead(cluster);
  const std::string store = SessionDir(cluster.head_session()).HeadStatePath();
  for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(store + suffix);
  std::filesystem::resize_file(store, std::filesystem::file_size(store) / 2);  // torn

  const auto refused = cluster.RestartHead();
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.out + refused.err, HasSubstr(store));
  EXPECT_THAT(refused.out + refused.err, HasSubstr("--fresh-state"));
  EXPECT_EQ(cluster.HeadPid(), -1);

  const auto fresh = cluster.RestartHead({"--fresh-state"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.out << fresh.err;
  // A new cluster has a new token.
  auto nodes = proto::NodeDirectory::NewStub(
      MakeChannel(cluster.head_address(), ReadTokenFile(cluster.token_file()).value_or("")));
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::ListNodesReply listed;
  ASSERT_TRUE(nodes->ListNodes(&context, proto::ListNodesRequest(), &listed).ok());
  const std::string new_id = listed.cluster_id();
  EXPECT_FALSE(new_id.empty());
  EXPECT_NE(new_id, old_id);
  bool kept_aside = false;
  for (const auto& entry : std::filesystem::directory_iterator(cluster.head_session())) {
    kept_aside |= absl::StrContains(entry.path().filename().string(), ".discarded-");
  }
  EXPECT_TRUE(kept_aside) << "the damaged store was deleted instead of set aside";
}

// A node whose head comes back as another cluster's head (other storage, same token) or with
// another token leaves with a clear error instead of joining it as a new node.
TEST(HeadRestartTest, NodesRefuseAHeadOfAnotherClusterOrWithAnotherToken) {
  for (const bool same_token : {true, false}) {
    SCOPED_TRACE(same_token ? "other storage, same token" : "another token");
    TestCluster cluster(0);
    const std::string session = cluster.JoinNode({"--num-cpus", "1"});
    ASSERT_FALSE(session.empty());
    const auto raylets = RayletPids(session);
    ASSERT_EQ(raylets.size(), 1u);
    TempDir keep;
    const std::string token_copy = keep.Sub("token");
    std::filesystem::copy_file(cluster.token_file(), token_copy);
    KillHead(cluster);
    std::vector<std::string> flags = {"--fresh-state"};                       // a new cluster...
    if (same_token) flags.insert(flags.end(), {"--token-file", token_copy});  // ...same token
    const auto restarted = cluster.RestartHead(flags);
    ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(raylets[0]); }, std::chrono::seconds(15)))
        << "the node stayed with a head that is not its cluster's";
    EXPECT_THAT(NodeLog(session), HasSubstr(same_token ? "but this head serves cluster"
                                                       : "restarted with another token"));
  }
}

}  // namespace
}  // namespace weft::testing
