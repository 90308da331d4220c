// Worker processes: leased through the head, spawned by a node's raylet, reached directly.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <weft/weft.h>

#include <filesystem>

#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "tests/cluster_harness.h"
#include "worker.grpc.pb.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

std::vector<proto::WorkerInfo> Workers(const TestCluster& cluster, const std::string& node) {
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  proto::ListWorkersReply reply;
  EXPECT_TRUE(cluster.NodeManager(node)->ListWorkers(&context, {}, &reply).ok());
  return {reply.workers().begin(), reply.workers().end()};
}

std::optional<proto::WorkerInfo> Find(const TestCluster& cluster, const std::string& node,
                                      const std::string& worker_id) {
  for (const auto& w : Workers(cluster, node)) {
    if (w.worker_id() == worker_id) return w;
  }
  return std::nullopt;
}

TEST(WorkerProcess, DriverProbeRunsARealWorkerThatEchoesData) {
  TestCluster cluster(2);
  Cluster driver = Cluster::Connect({.address = "", .session_dir = cluster.head_session()});
  EXPECT_EQ(driver.job_id(), "job-0001");
  const auto nodes = driver.Nodes();
  ASSERT_EQ(nodes.size(), 1u);

  const WorkerProbe probe = driver.ProbeWorker(1 << 20);
  EXPECT_EQ(probe.bytes_echoed, 1u << 20);
  EXPECT_EQ(probe.node_id, nodes[0].node_id);
  EXPECT_NE(probe.pid, getpid());
  // The worker was told to exit; its raylet reaps it and records a clean exit.
  ASSERT_TRUE(WaitFor([&] {
    auto w = Find(cluster, cluster.head_address(), probe.worker_id);
    return w && w->state() == proto::WORKER_EXITED;
  }));
  const auto exited = *Find(cluster, cluster.head_address(), probe.worker_id);
  EXPECT_EQ(exited.pid(), probe.pid);
  EXPECT_EQ(exited.exit().signal(), 0);
  EXPECT_EQ(exited.exit().exit_code(), 0);
  // Its own log went to a per-worker file in the session dir, beside its output files.
  const std::string log_path =
      exited.stderr_path().substr(0, exited.stderr_path().size() - 4) + ".log";
  auto log = ReadFile(log_path);
  ASSERT_TRUE(log.ok()) << log_path;
  EXPECT_THAT(*log, HasSubstr("worker ready id=" + probe.worker_id));
  EXPECT_EQ(std::filesystem::path(exited.stderr_path()).parent_path(),
            std::filesystem::path(SessionDir(cluster.head_session()).LogsDir()));
}

TEST(WorkerProcess, KilledWorkerIsReportedWithItsSignalAndFreesItsCpu) {
  TestCluster cluster(1, {"--heartbeat-period-ms", "100"});
  proto::LeaseWorkerReply leased;
  ASSERT_TRUE(cluster.Lease({{"CPU", 1}}, &leased).ok());
  const auto& worker = leased.worker();
  ASSERT_TRUE(ProcessAlive(worker.pid()));
  EXPECT_THAT(ProcessCommandLine(worker.pid()), HasSubstr("weft-worker"));
  ASSERT_TRUE(WaitFor([&] { return cluster.ListNodes().nodes(0).num_workers() == 1; }));

  // The only CPU is held: a second lease waits in the queue; the long poll ends (2 s before
  // the caller's deadline) with "still queued" and the reason, not with an error.
  proto::LeaseWorkerRequest second;
  second.set_job_id("job-test");
  (*second.mutable_required())["CPU"] = 1;
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(3));
  proto::LeaseWorkerReply queued;
  ASSERT_TRUE(cluster.Scheduler()->LeaseWorker(&context, second, &queued).ok());
  EXPECT_TRUE(queued.queued());
  EXPECT_FALSE(queued.has_worker());
  EXPECT_THAT(queued.queued_reason(), HasSubstr("CPU=1"));

  kill(worker.pid(), SIGKILL);
  ASSERT_TRUE(WaitFor([&] {
    auto w = Find(cluster, cluster.head_address(), worker.worker_id());
    return w && w->state() == proto::WORKER_EXITED;
  }));
  EXPECT_EQ(Find(cluster, cluster.head_address(), worker.worker_id())->exit().signal(), SIGKILL);
  ASSERT_TRUE(WaitFor([&] {
    const auto node = cluster.ListNodes().nodes(0);
    return node.num_workers() == 0 && node.available().at("CPU") == 1;
  }));
  proto::LeaseWorkerReply again;
  EXPECT_TRUE(cluster.Lease({{"CPU", 1}}, &again).ok());
}

TEST(WorkerProcess, InfeasibleLeaseNamesWhatIsMissing) {
  TestCluster cluster(1);
  proto::LeaseWorkerReply reply;
  const auto status = cluster.Lease({{"GPU", 1}}, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("no alive node offers GPU=1"));
}

TEST(WorkerProcess, LeasesSpreadOverNodesWithFreeResources) {
  TestCluster cluster(0);
  ASSERT_FALSE(cluster.JoinNode({"--num-cpus", "1"}).empty());
  ASSERT_FALSE(cluster.JoinNode({"--num-cpus", "1"}).empty());
  proto::LeaseWorkerReply a, b;
  ASSERT_TRUE(cluster.Lease({{"CPU", 1}}, &a).ok());
  ASSERT_TRUE(cluster.Lease({{"CPU", 1}}, &b).ok());
  EXPECT_NE(a.worker().node_id(), b.worker().node_id());
  EXPECT_NE(a.node_address(), b.node_address());
}

TEST(WorkerProcess, StopEndsEveryWorkerOfTheSession) {
  TestCluster cluster(2);
  proto::LeaseWorkerReply a, b;
  ASSERT_TRUE(cluster.Lease({{"CPU", 1}}, &a).ok());
  ASSERT_TRUE(cluster.Lease({{"CPU", 1}}, &b).ok());
  ASSERT_TRUE(ProcessAlive(a.worker().pid()) && ProcessAlive(b.worker().pid()));
  const auto stopped = cluster.StopSession(cluster.head_session());
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr("Stopped 1 raylet(s) and 2 worker(s)"));
  EXPECT_FALSE(ProcessAlive(a.worker().pid()));
  EXPECT_FALSE(ProcessAlive(b.worker().pid()));
}

TEST(WorkerProcess, WorkersDieWithAKilledRaylet) {
  TestCluster cluster(0);
  const std::string session = cluster.JoinNode({"--num-cpus", "1"});
  ASSERT_FALSE(session.empty());
  proto::LeaseWorkerReply leased;
  ASSERT_TRUE(cluster.Lease({{"CPU", 1}}, &leased).ok());
  ASSERT_TRUE(ProcessAlive(leased.worker().pid()));
  kill(RayletPids(session).at(0), SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(leased.worker().pid()); }));
}

TEST(WorkerProcess, DriverGetsAClearErrorWithoutACluster) {
  TempDir dir;
  try {
    Cluster::Connect({.address = "", .session_dir = dir.path()});
    FAIL() << "connected to nothing";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no cluster address"));
  }
}

}  // namespace
}  // namespace weft::testing
