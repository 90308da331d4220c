// Fencing and owner death (issue 10), with real daemons: a node that loses its head stops
// its workers before the head may declare it dead, a worker whose raylet stops answering
// stops itself, a fenced node rejoins as a new node, and a driver killed without Shutdown
// takes its job and non-detached actors with it.
//
// Every cluster here runs with --node-timeout-ms 1500: the head declares a silent node dead
// after 1.5 s, and the node fences itself before that. Nodes join without the flag: they take
// the head's value when they register.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "common/process.h"
#include "common/rpc.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

constexpr auto kNodeTimeout = std::chrono::milliseconds(1500);
const std::vector<std::string> kTimeoutFlags = {"--node-timeout-ms", "1500"};

// A cluster of a head (1 CPU) and one node offering the custom resource "fence", on which
// a leased worker runs.
class FencingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_session_ = cluster_.JoinNode({"--num-cpus", "1", "--resources", R"({"fence": 1})"});
    ASSERT_FALSE(node_session_.empty());
    const auto pids = RayletPids(node_session_);
    ASSERT_EQ(pids.size(), 1u);
    raylet_ = pids[0];
    const auto id = cluster_.AliveNodeOf(raylet_);
    ASSERT_TRUE(id.has_value());
    node_id_ = *id;
    proto::LeaseWorkerReply lease;
    const auto leased = cluster_.Lease({{"fence", 1}}, &lease);
    ASSERT_TRUE(leased.ok()) << leased.error_message();
    ASSERT_EQ(lease.worker().node_id(), node_id_);
    worker_ = lease.worker();
  }

  TestCluster cluster_{1, kTimeoutFlags};
  std::string node_session_;
  pid_t raylet_ = -1;
  std::string node_id_;
  proto::WorkerInfo worker_;
};

// (a) The node's workers are gone no later than the head's verdict; once resumed, the raylet
// comes back as a new node that can host work.
TEST_F(FencingTest, StoppedNodeIsFencedBeforeItIsDeclaredDeadThenRejoinsAsNewNode) {
  Stopped stopped(raylet_);
  bool worker_ran_after_verdict = true;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (cluster_.NodeStateOf(node_id_) != proto::NODE_DEAD) return false;
        // Read after the head's answer, so after its verdict: a worker still running now ran
        // past it. (Read before the answer, a loaded machine could see the worker alive just
        // before a verdict that came during the call: not a violation.)
        worker_ran_after_verdict = ProcessAlive(worker_.pid());
        return true;
      },
      kNodeTimeout + std::chrono::seconds(3)))
      << "the head never declared node " << node_id_ << " dead";
  EXPECT_FALSE(worker_ran_after_verdict)
      << "worker pid " << worker_.pid() << " still ran when the head declared its node dead";
  stopped.Resume();

  std::string new_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        new_id = cluster_.AliveNodeOf(raylet_).value_or("");
        return !new_id.empty() && new_id != node_id_;
      },
      std::chrono::seconds(10)))
      << "raylet " << raylet_ << " did not rejoin as a new node";
  proto::LeaseWorkerReply lease;
  const auto leased = cluster_.Lease({{"fence", 1}}, &lease);
  ASSERT_TRUE(leased.ok()) << leased.error_message();
  EXPECT_EQ(lease.worker().node_id(), new_id);
}

// (b) With its raylet stopped (the lifeline does not fire), the worker exits by itself within
// the node timeout, and says why in its log.
TEST_F(FencingTest, WorkerOfStoppedRayletExitsByItself) {
  const auto stopped_at = std::chrono::steady_clock::now();
  Stopped stopped(raylet_);
  ASSERT_TRUE(
      WaitFor([&] { return !ProcessAlive(worker_.pid()); }, kNodeTimeout + std::chrono::seconds(3)))
      << "worker pid " << worker_.pid() << " kept running under a stopped raylet";
  EXPECT_LE(std::chrono::steady_clock::now() - stopped_at, kNodeTimeout);
  const std::string log_path = node_session_ + "/logs/worker-" + worker_.worker_id() + ".log";
  std::ifstream log(log_path);
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("fencing")) << log_path;
}

// (b2) The raylet stops while a worker it just spawned is still registering: the worker's
// registration is its first check, bound by the same fencing deadline, not by the longer
// deadline of control calls.
TEST(FencingStartTest, WorkerRegisteringWithAStoppedRayletExitsByItself) {
  TestCluster cluster(1, kTimeoutFlags);
  const std::string session =
      cluster.JoinNode({"--num-cpus", "1", "--resources", R"({"late": 1})"});
  ASSERT_FALSE(session.empty());
  const pid_t raylet = RayletPids(session).at(0);
  // The lease ends when the head declares the node dead; it runs beside the test.
  std::thread lease([&] {
    proto::LeaseWorkerReply reply;
    (void)cluster.Lease({{"late", 1}}, &reply);
  });
  // Polled without a pause (a scan of /proc takes about a millisecond): the worker must be
  // caught before it registers, which takes it a few milliseconds.
  pid_t worker = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (worker < 0 && std::chrono::steady_clock::now() < deadline) {
    for (const pid_t child : ChildProcesses(raylet)) {
      if (ProcessName(child) == "weft-worker") worker = child;
    }
  }
  const bool spawned = worker > 0;
  std::optional<Stopped> stopped;
  if (spawned) stopped.emplace(raylet);
  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(spawned) << "raylet " << raylet << " spawned no worker for the lease";
  ASSERT_TRUE(
      WaitFor([&] { return !ProcessAlive(worker); }, kNodeTimeout + std::chrono::seconds(5)))
      << "worker pid " << worker << " kept running under a stopped raylet";
  EXPECT_LE(std::chrono::steady_clock::now() - stopped_at, kNodeTimeout);
  stopped.reset();
  lease.join();
  std::string text;
  for (const auto& entry : std::filesystem::directory_iterator(session + "/logs")) {
    if (!absl::StartsWith(entry.path().filename().string(), "worker-") ||
        entry.path().extension() != ".log") {
      continue;
    }
    std::ifstream log(entry.path());
    text.append(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
  }
  EXPECT_THAT(text, HasSubstr("fencing")) << text;
}

// Drivers' Put values in the shared memory of the session's nodes (files in their folders).
int DriverPutValues(const std::string& session) {
  int values = 0;
  std::error_code nodes_error, folders_error, values_error;  // missing folders: none there
  for (const auto& node : std::filesystem::directory_iterator(session + "/objects", nodes_error)) {
    for (const auto& folder :
         std::filesystem::directory_iterator(node.path() / "memory", folders_error)) {
      if (!folder.path().filename().string().starts_with("driver-")) continue;
      for (const auto& value : std::filesystem::directory_iterator(folder.path(), values_error)) {
        values += value.is_regular_file();
      }
    }
  }
  return values;
}

// (c) A driver killed with SIGKILL: its job FAILED, its actor DEAD with "owner died" and
// its name free, its detached actor alive, every CPU free, and the result it owned that the
// detached actor stores freed (nobody can ever ask for it again).
TEST(DriverDeathTest, KilledDriverFailsItsJobAndFreesItsActors) {
  TestCluster cluster(2, kTimeoutFlags);
  TempDir dir;
  const std::string ready = dir.Sub("ready");
  const std::vector<std::string> env = {"WEFT_SESSION_DIR=" + cluster.head_session()};
  auto driver = SpawnProcess({.argv = {BinPath("fencing_driver"), ready}, .extra_env = env});
  ASSERT_TRUE(driver.ok()) << driver.status();
  const bool started = WaitFor([&] { return std::filesystem::exists(ready); });
  const int put_values = DriverPutValues(cluster.head_session());
  kill(*driver, SIGKILL);
  int status = 0;
  waitpid(*driver, &status, 0);
  ASSERT_TRUE(started) << "the driver did not create its actors";
  // Its Put value was in its node's shared memory (where the machine has one), in a folder the
  // node removes once the driver is gone.
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec)) {
    EXPECT_EQ(put_values, 1);
    EXPECT_TRUE(WaitFor([&] { return DriverPutValues(cluster.head_session()) == 0; }))
        << "the killed driver's Put values stayed in shared memory";
  }

  auto jobs = proto::JobRegistry::NewStub(MakeChannel(cluster.head_address(), cluster.token()));
  auto actors =
      proto::ActorDirectory::NewStub(MakeChannel(cluster.head_address(), cluster.token()));
  proto::ListJobsReply job_list;
  proto::ListActorsReply actor_list;
  auto refresh = [&] {
    grpc::ClientContext job_context, actor_context;
    SetTimeout(job_context, std::chrono::seconds(5));
    SetTimeout(actor_context, std::chrono::seconds(5));
    return jobs->ListJobs(&job_context, {}, &job_list).ok() &&
           actors->ListActors(&actor_context, {}, &actor_list).ok();
  };
  auto actor = [&](const std::string& name) {
    for (const auto& a : actor_list.actors())
      if (a.name() == name) return a;
    return proto::ActorInfo();
  };
  const bool failed = WaitFor(
      [&] {
        return refresh() && job_list.jobs_size() == 1 &&
               job_list.jobs(0).state() == proto::JOB_FAILED &&
               actor("owned").state() == proto::ACTOR_DEAD &&
               cluster.FreeCpus() == cluster.TotalCpus();
      },
      std::chrono::seconds(5));
  ASSERT_TRUE(failed) << job_list.DebugString() << actor_list.DebugString()
                      << "free CPUs: " << cluster.FreeCpus();
  EXPECT_THAT(actor("owned").death_reason(), HasSubstr("owner died"));
  EXPECT_THAT(actor("owned").death_reason(), HasSubstr("pid " + std::to_string(*driver)));
  EXPECT_EQ(actor("kept").state(), proto::ACTOR_ALIVE);
  EXPECT_TRUE(WaitFor([&] { return cluster.ObjectCount() == 0; }, std::chrono::seconds(5)))
      << cluster.ObjectCount() << " objects of the dead driver are still stored";

  const auto again =
      testing::Run({BinPath("fencing_driver"), "--again"}, std::chrono::seconds(60), env);
  EXPECT_EQ(again.exit_code, 0) << "the name 'owned' was not free again: " << again.err;
}

}  // namespace
}  // namespace weft::testing
