// Scheduling on a real three-node cluster (2 CPUs each): tasks wait for resources instead of
// failing, leases come back when tasks are done, a task blocked in Get lends its CPU to its
// children, and default actors spread over the nodes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <map>
#include <set>

#include "common/rpc.h"
#include "tests/actors/scheduling_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr double kClusterCpus = 6;
constexpr std::chrono::seconds kBound{60};

class SchedulingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(2);
    ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "2"}).empty());
    ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "2"}).empty());
    ASSERT_TRUE(WaitFor([&] { return cluster_->ListNodes().nodes_size() == 3; }));
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
  }
  void TearDown() override {
    weft::Shutdown();
    cluster_.reset();
  }

  // CPUs free over the whole cluster, as the head sees them.
  double FreeCpus() const { return cluster_->FreeCpus(); }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(SchedulingTest, MoreTasksThanCpusAllComplete) {
  std::vector<weft::ObjectRef<int>> refs;
  for (int i = 0; i < 20; ++i) refs.push_back(weft::Task(&PidAfter).Remote(200));
  for (const auto& ref : refs) EXPECT_GT(ref.Get(kBound), 0);
}

// An actor that waits for room is PENDING with its lease request in the head's queue; killed,
// its request leaves the queue at once (it would otherwise hold back younger requests and get
// a worker started for nothing).
TEST_F(SchedulingTest, KillingAPendingActorWithdrawsItsQueuedLease) {
  std::vector<weft::ActorHandle<Recorder>> holders;
  for (int i = 0; i < 3; ++i) {
    holders.push_back(weft::Actor<Recorder>({.num_cpus = 2}).Remote());
    ASSERT_EQ(holders.back().Call(&Recorder::Echo, i).Get(kBound), i);
  }
  ASSERT_EQ(FreeCpus(), 0);
  auto waiting = weft::Actor<Recorder>({.num_cpus = 2}).Remote();
  ASSERT_TRUE(WaitFor([&] { return cluster_->ListNodes().queued_leases() == 1; }))
      << "the fourth actor's lease did not queue";
  weft::Kill(waiting);
  EXPECT_TRUE(WaitFor([&] { return cluster_->ListNodes().queued_leases() == 0; }, seconds(3)))
      << "the killed actor's lease request stayed queued";
  weft::Kill(holders[0]);  // room again: nothing is started for the dead actor
  EXPECT_TRUE(WaitFor([&] { return FreeCpus() == 2; }, seconds(5))) << FreeCpus();
  EXPECT_EQ(cluster_->GetActor(waiting.id()).state(), proto::ACTOR_DEAD);
}

TEST_F(SchedulingTest, TaskNeedingTwoCpusWaitsUntilBusyCpusFree) {
  std::vector<weft::ObjectRef<int>> busy;
  for (int i = 0; i < 12; ++i) busy.push_back(weft::Task(&PidAfter).Remote(2000));
  ASSERT_TRUE(WaitFor([&] { return FreeCpus() == 0; }))
      << "the 1-CPU tasks never filled the cluster";
  auto big = weft::Task(&PidAfter, {.num_cpus = 2}).Remote(10);
  // The request waits in the head's queue, visible to `weft status`, instead of failing.
  EXPECT_TRUE(WaitFor([&] { return cluster_->ListNodes().queued_leases() > 0; }));
  EXPECT_GT(big.Get(kBound), 0);
  for (const auto& ref : busy) EXPECT_GT(ref.Get(kBound), 0);
}

TEST_F(SchedulingTest, NestedFanOutCompletesOnASaturatedCluster) {
  // 5 parents of 1 CPU on 6 CPUs each start 2 children: only possible if a parent blocked in
  // Get lends its CPU to the children.
  std::vector<weft::ObjectRef<int>> parents;
  for (int i = 0; i < 5; ++i) parents.push_back(weft::Task(&SpawnChildren).Remote(2, 300));
  for (const auto& parent : parents) EXPECT_EQ(parent.Get(seconds(60)), 2);
}

TEST_F(SchedulingTest, EveryCpuIsFreeSoonAfterABatch) {
  std::vector<weft::ObjectRef<int>> refs;
  for (int i = 0; i < 24; ++i) refs.push_back(weft::Task(&PidAfter).Remote(100));
  for (const auto& ref : refs) ref.Get(kBound);
  // Idle task workers go back after a second; the nodes report it in their next heartbeat.
  EXPECT_TRUE(WaitFor([&] { return FreeCpus() == kClusterCpus; }, seconds(8)))
      << FreeCpus() << " of " << kClusterCpus << " CPUs free";
}

TEST_F(SchedulingTest, TwoCpuTasksRunAfterOneCpuTasksOfTheSameJob) {
  std::vector<weft::ObjectRef<int>> small;
  for (int i = 0; i < 12; ++i) small.push_back(weft::Task(&PidAfter).Remote(100));
  for (const auto& ref : small) ref.Get(kBound);
  std::vector<weft::ObjectRef<int>> big;
  for (int i = 0; i < 3; ++i) big.push_back(weft::Task(&PidAfter, {.num_cpus = 2}).Remote(100));
  for (const auto& ref : big) EXPECT_GT(ref.Get(seconds(60)), 0);
}

TEST_F(SchedulingTest, DefaultActorsSpreadOverAllNodes) {
  std::vector<weft::ActorHandle<Recorder>> actors;
  for (int i = 0; i < 30; ++i) actors.push_back(weft::Actor<Recorder>().Remote());
  for (auto& actor : actors) EXPECT_EQ(actor.Call(&Recorder::Echo, 7).Get(seconds(30)), 7);
  auto directory =
      proto::ActorDirectory::NewStub(MakeChannel(cluster_->head_address(), cluster_->token()));
  grpc::ClientContext context;
  proto::ListActorsReply reply;
  ASSERT_TRUE(directory->ListActors(&context, proto::ListActorsRequest(), &reply).ok());
  std::map<std::string, int> per_node;
  for (const auto& actor : reply.actors()) {
    if (actor.state() == proto::ACTOR_ALIVE) ++per_node[actor.node_id()];
  }
  ASSERT_EQ(per_node.size(), 3u) << "30 actors landed on " << per_node.size() << " nodes";
  for (const auto& [node, count] : per_node) EXPECT_GE(count, 5) << "node " << node;
}

TEST_F(SchedulingTest, InfeasibleTaskFailsNamingTheResources) {
  auto ref = weft::Task(&PidAfter, {.num_cpus = 100}).Remote(10);
  try {
    ref.Get(seconds(30));
    FAIL() << "a task asking 100 CPUs ran";
  } catch (const weft::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("CPU=100"));
    EXPECT_EQ(e.code(), 14);  // UNAVAILABLE, not a timeout
  }
}

}  // namespace
}  // namespace weft::testing
