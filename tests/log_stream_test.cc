// Worker output reaches the driver: a real worker prints under an output tag, its raylet
// tails the pipe and publishes to the head, and the driver's subscription prints the line.
// FlushLogs makes each check deterministic: no sleeps.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/src/log_subscriber.h"
#include "common/rpc.h"
#include "log.grpc.pb.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kBanner[] = "hello from a worker";

// Sets WEFT_WORKER_BANNER for the daemons (and so the workers) this test starts.
class LogStreamTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("WEFT_WORKER_BANNER", kBanner, 1); }
  void TearDown() override { unsetenv("WEFT_WORKER_BANNER"); }
};

// What a LogSubscriber printed, kept for the test.
struct Printed {
  absl::Mutex mu;
  std::vector<std::string> out ABSL_GUARDED_BY(mu), err ABSL_GUARDED_BY(mu);

  internal::LogSubscriber::Printer Printer() {
    return [this](proto::LogStream stream, const std::string& text) {
      absl::MutexLock lock(&mu);
      (stream == proto::LOG_STDERR ? err : out).push_back(text);
    };
  }
  std::vector<std::string> Out() {
    absl::MutexLock lock(&mu);
    return out;
  }
};

proto::LeaseWorkerReply LeaseFor(const TestCluster& cluster, const std::string& job_id) {
  proto::LeaseWorkerRequest request;
  request.set_job_id(job_id);
  (*request.mutable_required())["CPU"] = 1;
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(30));
  proto::LeaseWorkerReply reply;
  const grpc::Status status = cluster.Scheduler()->LeaseWorker(&context, request, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return reply;
}

TEST_F(LogStreamTest, ATaggedWorkerLineReachesTheSubscriberOfItsJobPrefixed) {
  TestCluster cluster(2);
  Printed mine, other;
  auto channel = MakeChannel(cluster.head_address(), cluster.token());
  internal::LogSubscriber subscriber(channel, "job-logs", mine.Printer());
  internal::LogSubscriber bystander(channel, "job-other", other.Printer());

  const auto leased = LeaseFor(cluster, "job-logs");
  ASSERT_TRUE(subscriber.Flush(std::chrono::seconds(10)));
  EXPECT_THAT(mine.Out(),
              Contains(absl::StrCat("(Banner pid=", leased.worker().pid(), ") ", kBanner)));
  ASSERT_TRUE(bystander.Flush(std::chrono::seconds(10)));
  EXPECT_TRUE(other.Out().empty()) << "another job's driver saw " << other.Out()[0];
}

TEST_F(LogStreamTest, ADriverThatSubscribesLateStillSeesEarlierOutput) {
  TestCluster cluster(1);
  const auto leased = LeaseFor(cluster, "job-late");
  auto channel = MakeChannel(cluster.head_address(), cluster.token());
  // The line may already sit in the head's backlog, or still in the node's pipe.
  Printed printed;
  internal::LogSubscriber subscriber(channel, "job-late", printed.Printer());
  ASSERT_TRUE(subscriber.Flush(std::chrono::seconds(10)));
  EXPECT_THAT(printed.Out(),
              Contains(absl::StrCat("(Banner pid=", leased.worker().pid(), ") ", kBanner)));
}

TEST_F(LogStreamTest, ADriverProgramPrintsItsWorkersOutputOnItsStdout) {
  TestCluster cluster(2);
  // The quickstart driver leases a worker through weft::Cluster, which flushes on close.
  const CommandResult driver = testing::Run({BinPath("quickstart")}, std::chrono::seconds(60),
                                            {"WEFT_SESSION_DIR=" + cluster.head_session()});
  ASSERT_EQ(driver.exit_code, 0) << driver.err;
  EXPECT_THAT(driver.out, HasSubstr(") " + std::string(kBanner) + "\n"));
  EXPECT_THAT(driver.out, HasSubstr("(Banner pid="));
}

TEST_F(LogStreamTest, FlushAnswersWithinItsDeadlineWhenANodeIsUnreachable) {
  TestCluster cluster(1);
  auto channel = MakeChannel(cluster.head_address(), cluster.token());
  {  // A node that registers and then never answers: nothing listens at its address.
    auto nodes = proto::NodeDirectory::NewStub(channel);
    proto::RegisterNodeRequest request;
    request.mutable_node()->set_node_id("ghost");
    request.mutable_node()->set_address("127.0.0.1:1");
    (*request.mutable_node()->mutable_total())["CPU"] = 1;
    grpc::ClientContext context;
    SetTimeout(context, std::chrono::seconds(5));
    proto::RegisterNodeReply reply;
    ASSERT_TRUE(nodes->RegisterNode(&context, request, &reply).ok());
  }
  auto broker = proto::LogBroker::NewStub(channel);
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(3));
  proto::FlushLogsRequest request;
  request.set_job_id("job-flush");
  proto::FlushLogsReply reply;
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status status = broker->FlushLogs(&context, request, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(reply.nodes_drained(), 1);  // the real node
  EXPECT_EQ(reply.nodes_failed(), 1);   // the ghost
}

}  // namespace
}  // namespace weft::testing
