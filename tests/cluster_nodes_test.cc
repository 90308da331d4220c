// Nodes joining and leaving a cluster through the CLI, against real daemons on 127.0.0.1:
// their resources, a join without the token, a node that goes silent or stops, a head that
// stalls and resumes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "common/auth.h"
#include "common/process.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

TEST(ClusterNodes, NodesJoinWithTheirResources) {
  TestCluster cluster(0);  // head services only: no local node
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 0);
  ASSERT_FALSE(cluster.JoinNode({"--num-cpus", "3", "--resources", R"({"GPU": 2})"}).empty());
  ASSERT_FALSE(cluster.JoinNode({"--num-cpus", "1"}).empty());

  const auto reply = cluster.ListNodes();
  ASSERT_EQ(reply.nodes_size(), 2);
  EXPECT_EQ(ResourceTotal(reply.nodes(0), "CPU"), 3);
  EXPECT_EQ(ResourceTotal(reply.nodes(0), "GPU"), 2);
  EXPECT_EQ(ResourceTotal(reply.nodes(1), "CPU"), 1);
  EXPECT_EQ(ResourceTotal(reply.nodes(1), "GPU"), -1);
  for (const auto& node : reply.nodes()) {
    EXPECT_EQ(node.state(), proto::NODE_ALIVE);
    EXPECT_FALSE(node.is_head());
  }
  const auto table = Weft({"list", "nodes", "--session-dir", cluster.head_session()});
  EXPECT_THAT(table.out, HasSubstr("GPU=0/2"));
  const auto status = Weft({"status", "--session-dir", cluster.head_session()});
  EXPECT_THAT(status.out, HasSubstr("Nodes: 2 alive, 0 dead"));
  EXPECT_THAT(status.out, HasSubstr("CPU        0/4"));
}

TEST(ClusterNodes, SilentNodeIsMarkedDeadAndARestartIsANewNode) {
  TestCluster cluster(0, {"--node-timeout-ms", "1500", "--heartbeat-period-ms", "100"});
  const std::string session = cluster.JoinNode({"--num-cpus", "1"});
  ASSERT_FALSE(session.empty());
  const auto pids = RayletPids(session);
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(cluster.ListNodes().nodes_size(), 1);
  const std::string first_id = cluster.ListNodes().nodes(0).node_id();

  kill(pids[0], SIGKILL);
  ASSERT_TRUE(WaitFor([&] {
    const auto nodes = cluster.ListNodes();
    return nodes.nodes_size() == 1 && nodes.nodes(0).state() == proto::NODE_DEAD;
  }));
  EXPECT_THAT(cluster.ListNodes().nodes(0).death_reason(), HasSubstr("no heartbeat"));

  // Same machine, same session dir: a new identity, the old one stays dead.
  ASSERT_EQ(Weft({"start", "--address", cluster.head_address(), "--session-dir", session,
                  "--token-file", cluster.token_file(), "--num-cpus", "1"})
                .exit_code,
            0);
  const auto reply = cluster.ListNodes();
  ASSERT_EQ(reply.nodes_size(), 2);
  EXPECT_EQ(reply.nodes(0).node_id(), first_id);
  EXPECT_EQ(reply.nodes(0).state(), proto::NODE_DEAD);
  EXPECT_NE(reply.nodes(1).node_id(), first_id);
  EXPECT_EQ(reply.nodes(1).state(), proto::NODE_ALIVE);
  const auto status = Weft({"status", "--session-dir", cluster.head_session()});
  EXPECT_THAT(status.out, HasSubstr("Nodes: 1 alive, 1 dead"));
}

TEST(ClusterNodes, ASuspendedHeadKeepsItsNodesWhenItResumes) {
  TestCluster cluster(1, {"--node-timeout-ms", "4000", "--heartbeat-period-ms", "100"});
  // A node cannot tell a stalled head from a lost one: it fences itself T - M (3 s here)
  // after the send of its last acknowledged heartbeat. A shorter stall keeps the cluster.
  ASSERT_FALSE(cluster.JoinNode({"--num-cpus", "1"}).empty());
  const pid_t head = RayletPids(cluster.head_session()).at(0);

  kill(head, SIGSTOP);
  // The stimulus, not a synchronisation: the head stays suspended for half its timeout.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  const int64_t resumed_ms = absl::ToUnixMillis(absl::Now());
  kill(head, SIGCONT);

  // Both nodes heartbeat again after the resume and are still the same, alive nodes.
  ASSERT_TRUE(WaitFor([&] {
    const auto nodes = cluster.ListNodes();
    if (nodes.nodes_size() != 2) return false;
    for (const auto& node : nodes.nodes()) {
      if (node.last_heartbeat_unix_ms() <= resumed_ms) return false;
    }
    return true;
  }));
  const auto after = cluster.ListNodes();
  for (const auto& node : after.nodes()) {
    EXPECT_EQ(node.state(), proto::NODE_ALIVE) << node.death_reason();
  }
  EXPECT_TRUE(ProcessAlive(head));
}

TEST(ClusterNodes, StoppedNodeLeavesAndIsMarkedDeadAtOnce) {
  TestCluster cluster(1);
  const std::string session = cluster.JoinNode({"--num-cpus", "1"});
  ASSERT_FALSE(session.empty());
  ASSERT_EQ(cluster.StopSession(session).exit_code, 0);
  const auto reply = cluster.ListNodes();
  ASSERT_EQ(reply.nodes_size(), 2);
  EXPECT_EQ(reply.nodes(0).state(), proto::NODE_ALIVE);
  EXPECT_EQ(reply.nodes(1).state(), proto::NODE_DEAD);
  EXPECT_EQ(reply.nodes(1).death_reason(), "raylet stopped");
}

TEST(ClusterNodes, JoinNeedsTheClusterToken) {
  TestCluster cluster(1);
  TempDir dir;
  const auto no_token =
      Weft({"start", "--address", cluster.head_address(), "--session-dir", dir.Sub("a")});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.err, HasSubstr("no cluster token"));

  const std::string wrong = dir.Sub("wrong-token");
  ASSERT_TRUE(WriteTokenFile(wrong, std::string(64, 'f')).ok());
  const auto refused = Weft({"start", "--address", cluster.head_address(), "--session-dir",
                             dir.Sub("b"), "--token-file", wrong});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("cluster token"));
  EXPECT_TRUE(RayletPids(dir.Sub("b")).empty());
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 1);

  // An explicit --token-file wins over a stale WEFT_TOKEN in the environment.
  const auto joined =
      testing::Run({BinPath("weft"), "start", "--address", cluster.head_address(), "--session-dir",
                    dir.Sub("c"), "--token-file", cluster.token_file()},
                   std::chrono::seconds(60), {"WEFT_TOKEN=" + std::string(64, 'e')});
  EXPECT_EQ(joined.exit_code, 0) << joined.err;
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 2);
  EXPECT_EQ(Weft({"stop", "--session-dir", dir.Sub("c")}).exit_code, 0);
}

}  // namespace
}  // namespace weft::testing
