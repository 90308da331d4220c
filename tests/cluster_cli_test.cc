// `weft start / status / list nodes / stop` against real daemons on 127.0.0.1: starting and
// stopping a cluster, and what the commands refuse. Nodes joining and leaving are in
// cluster_nodes_test.cc.

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

#include "absl/strings/ascii.h"
#include "common/auth.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

TEST(ClusterCli, HeadStartsOnAFreePortWithAPrivateToken) {
  TestCluster cluster(2);
  ASSERT_FALSE(cluster.head_address().empty());
  EXPECT_THAT(cluster.head_address(), ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE(cluster.head_address(), "127.0.0.1:0");
  struct stat st {};
  ASSERT_EQ(stat(cluster.token_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(cluster.token().size(), 64u);
}

TEST(ClusterCli, StatusAndListNodesDescribeTheHeadNode) {
  TestCluster cluster(2);
  const auto status = Weft({"status", "--session-dir", cluster.head_session()});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("Nodes: 1 alive, 0 dead"));
  EXPECT_THAT(status.out, HasSubstr("CPU        0/2"));

  const auto json =
      Weft({"list", "nodes", "--format", "json", "--session-dir", cluster.head_session()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  proto::ListNodesReply reply;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &reply).ok()) << json.out;
  ASSERT_EQ(reply.nodes_size(), 1);
  EXPECT_TRUE(reply.nodes(0).is_head());
  EXPECT_EQ(reply.nodes(0).state(), proto::NODE_ALIVE);
  EXPECT_EQ(reply.nodes(0).address(), cluster.head_address());
  EXPECT_EQ(ResourceTotal(reply.nodes(0), "CPU"), 2);
  EXPECT_GT(ResourceTotal(reply.nodes(0), "memory"), 0);

  const auto table = Weft({"list", "nodes", "--session-dir", cluster.head_session()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("NODE_ID"));
  EXPECT_THAT(table.out, HasSubstr(reply.nodes(0).node_id()));
  EXPECT_THAT(table.out, HasSubstr("ALIVE"));
}

// A head reaches itself where it listens, whatever it advertises (issue 14): here an address
// nobody answers at (TEST-NET-2), as a machine behind NAT may not reach its public one. Its own
// node registers under the advertised address, the CLI of its session dials where it listens,
// and the session records both. (Its own node dialed the advertised address before, never
// registered, and the head did not start.)
TEST(ClusterCli, AHeadReachesItselfWhereItListensWhateverItAdvertises) {
  TestCluster cluster(1, {"--advertise-address", "198.51.100.7"});
  ASSERT_FALSE(cluster.head_address().empty());
  EXPECT_THAT(cluster.head_address(), ::testing::StartsWith("127.0.0.1:"));
  const std::string advertised =
      "198.51.100.7" + cluster.head_address().substr(cluster.head_address().rfind(':'));
  const SessionDir session(cluster.head_session());
  EXPECT_EQ(absl::StripAsciiWhitespace(ReadFile(session.HeadAdvertisedAddressPath()).value_or("")),
            advertised);
  const auto nodes = cluster.ListNodes();
  ASSERT_EQ(nodes.nodes_size(), 1);
  EXPECT_EQ(nodes.nodes(0).address(), advertised);
  EXPECT_EQ(nodes.nodes(0).state(), proto::NODE_ALIVE);
  const auto status = Weft({"status", "--session-dir", cluster.head_session()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("Nodes: 1 alive, 0 dead"));
}

// On a plaintext loopback cluster (the default) a command says nothing beyond its answer: no
// TLS handshake errors from finding out that the head does not serve TLS.
TEST(ClusterCli, ACommandOnALoopbackClusterPrintsNoErrors) {
  TestCluster cluster(1);
  const auto nodes = Weft({"list", "nodes", "--session-dir", cluster.head_session()});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.err;
  EXPECT_EQ(nodes.err, "");
}

TEST(ClusterCli, StopEndsTheDaemonsAndStatusThenFails) {
  TestCluster cluster(1);
  const auto pids = RayletPids(cluster.head_session());
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_TRUE(ProcessAlive(pids[0]));

  const auto stopped = cluster.StopSession(cluster.head_session());
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr("Stopped 1 raylet(s)"));
  EXPECT_FALSE(ProcessAlive(pids[0]));

  const auto status = Weft({"status", "--session-dir", cluster.head_session()});
  EXPECT_NE(status.exit_code, 0);
  EXPECT_THAT(status.err, HasSubstr("cannot reach the head at " + cluster.head_address()));
}

// A cluster started for a process (a program's own, a test's) goes with it when that process
// is SIGKILLed: no `weft stop` runs, and its raylets must not stay behind.
TEST(ClusterCli, ExitWithPidStopsTheDaemonsWhenThatProcessIsKilled) {
  auto owner = SpawnProcess({.argv = {"/bin/sleep", "600"}});
  ASSERT_TRUE(owner.ok()) << owner.status();
  TempDir dir;
  const std::string head = dir.Sub("head");
  const auto started = Weft({"start", "--head", "--port", "0", "--session-dir", head, "--num-cpus",
                             "1", "--exit-with-pid", std::to_string(*owner)});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const auto pids = RayletPids(head);
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_TRUE(ProcessAlive(pids[0]));

  ASSERT_EQ(kill(*owner, SIGKILL), 0);
  waitpid(*owner, nullptr, 0);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pids[0]); }, std::chrono::seconds(10)))
      << "the raylet stayed after the process it was started for was killed";
  if (ProcessAlive(pids[0])) kill(pids[0], SIGKILL);
}

// A pid that names no process is refused at start, not watched forever.
TEST(ClusterCli, ExitWithPidOfNoProcessIsRefused) {
  TempDir dir;
  const auto started = Weft({"start", "--head", "--port", "0", "--session-dir", dir.Sub("head"),
                             "--exit-with-pid", "2147483646"});
  EXPECT_NE(started.exit_code, 0);
  EXPECT_THAT(started.out + started.err, HasSubstr("--exit-with-pid 2147483646"));
}

TEST(ClusterCli, StopTouchesOnlyItsOwnSession) {
  TestCluster first(1);
  TestCluster second(1);
  const auto first_pids = RayletPids(first.head_session());
  ASSERT_EQ(first.StopSession(first.head_session()).exit_code, 0);
  EXPECT_FALSE(ProcessAlive(first_pids[0]));
  const auto status = Weft({"status", "--session-dir", second.head_session()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("Nodes: 1 alive"));
}

TEST(ClusterCli, StopForcesARayletThatIgnoresSigterm) {
  TestCluster cluster(1);
  proto::LeaseWorkerReply leased;
  ASSERT_TRUE(cluster.Lease({}, &leased).ok());
  const auto pids = RayletPids(cluster.head_session());
  ASSERT_EQ(pids.size(), 1u);
  kill(pids[0], SIGSTOP);  // a hung daemon: SIGTERM stays pending

  const auto stopped =
      Weft({"stop", "--session-dir", cluster.head_session(), "--grace-period", "1"});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr("(some forced)"));
  EXPECT_FALSE(ProcessAlive(pids[0]));
  EXPECT_FALSE(ProcessAlive(leased.worker().pid()));
}

TEST(ClusterCli, SecondHeadInTheSameSessionIsRefused) {
  TestCluster cluster(1);
  const auto token_before = cluster.token();
  const auto second =
      Weft({"start", "--head", "--port", "0", "--session-dir", cluster.head_session()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("a Weft head already runs in " + cluster.head_session()));
  // The running cluster's files are untouched.
  auto token = ReadTokenFile(cluster.token_file());
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, token_before);
  EXPECT_EQ(RayletPids(cluster.head_session()).size(), 1u);
}

// The pid of a running `name` process whose command line contains `needle`, or 0.
pid_t FindProcess(const std::string& name, const std::string& needle) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const pid_t pid = std::atoi(entry.path().filename().c_str());
    if (pid > 0 && ProcessName(pid) == name &&
        ProcessCommandLine(pid).find(needle) != std::string::npos) {
      return pid;
    }
  }
  return 0;
}

// `weft start --head --block` in the foreground of a thread of its own, as in a terminal.
// Stopped on destruction if the test did not end it.
class BlockingStart {
 public:
  BlockingStart()
      : session_(dir_.Sub("blocking")), foreground_([this] {
          result_ = Weft({"start", "--head", "--block", "--port", "0", "--num-cpus", "1",
                          "--session-dir", session_});
        }) {}
  ~BlockingStart() {
    if (!foreground_.joinable()) return;
    Weft({"stop", "--session-dir", session_});
    foreground_.join();
  }
  const std::string& session() const { return session_; }
  bool AwaitReady() const {
    return WaitFor([&] { return RayletPids(session_).size() == 1; });
  }
  // Waits for `weft start` to return.
  CommandResult Join() {
    foreground_.join();
    return result_;
  }

 private:
  TempDir dir_;
  const std::string session_;
  CommandResult result_;
  std::thread foreground_;  // last: starts once the members above exist
};

TEST(ClusterCli, BlockKeepsStartInTheForegroundUntilTheDaemonStops) {
  BlockingStart start;
  ASSERT_TRUE(start.AwaitReady());
  const auto status = Weft({"status", "--session-dir", start.session()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  const auto stopped = Weft({"stop", "--session-dir", start.session()});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  const auto blocked = start.Join();
  EXPECT_EQ(blocked.exit_code, 0) << blocked.err;
  EXPECT_THAT(blocked.out, HasSubstr("Weft head started at 127.0.0.1:"));
  EXPECT_THAT(blocked.err, HasSubstr("raylet stopped"));  // its log came to this terminal
}

TEST(ClusterCli, CtrlCOnABlockingStartStopsTheDaemonGracefully) {
  BlockingStart start;
  ASSERT_TRUE(start.AwaitReady());
  const pid_t cli = FindProcess("weft", start.session());
  ASSERT_GT(cli, 0);
  kill(cli, SIGINT);
  const auto blocked = start.Join();
  EXPECT_EQ(blocked.exit_code, 0) << blocked.err;
  EXPECT_THAT(blocked.err, HasSubstr("raylet stopping signal=15"));
  EXPECT_TRUE(WaitFor([&] { return FindProcess("weft-raylet", start.session()) == 0; }));
}

TEST(ClusterCli, StopIgnoresAStaleRecordWhosePidNowNamesAnotherRaylet) {
  TestCluster other(1);
  const pid_t foreign = RayletPids(other.head_session()).at(0);
  TempDir dir;
  const SessionDir stale(dir.Sub("stale"));
  ASSERT_TRUE(stale.Create().ok());
  // A record left by a raylet that died: its pid has since been reused by `other`'s raylet.
  ASSERT_TRUE(WriteFileAtomic(stale.RayletRecordPath(foreign), "{}\n").ok());

  const auto stopped = Weft({"stop", "--session-dir", stale.root()});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr("No Weft daemons running"));
  EXPECT_TRUE(ProcessAlive(foreign));
  EXPECT_EQ(other.ListNodes().nodes_size(), 1);
}

TEST(ClusterCli, StopWithNothingRunningSaysSo) {
  TempDir dir;
  const auto stopped = Weft({"stop", "--session-dir", dir.path()});
  EXPECT_EQ(stopped.exit_code, 0);
  EXPECT_THAT(stopped.out, HasSubstr("No Weft daemons running"));
}

TEST(ClusterCli, StartRejectsBadFlagsWithClearErrors) {
  TempDir dir;
  const std::string session = dir.Sub("s");
  const auto bad_json =
      Weft({"start", "--head", "--port", "0", "--session-dir", session, "--resources", "{bad"});
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_THAT(bad_json.err, HasSubstr("resources must be a JSON object"));

  const auto negative = Weft({"start", "--head", "--port", "0", "--session-dir", session,
                              "--resources", R"({"GPU": -1})"});
  EXPECT_EQ(negative.exit_code, 1);
  EXPECT_THAT(negative.err, HasSubstr("GPU must be a non-negative number"));

  const auto neither = Weft({"start", "--session-dir", session});
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_THAT(neither.err, HasSubstr("--head"));

  const auto cpus = Weft({"start", "--head", "--num-cpus", "-1", "--session-dir", session});
  EXPECT_NE(cpus.exit_code, 0);
  EXPECT_THAT(cpus.err, HasSubstr("--num-cpus"));

  const auto timing = Weft({"start", "--head", "--port", "0", "--session-dir", session,
                            "--node-timeout-ms", "100", "--heartbeat-period-ms", "500"});
  EXPECT_EQ(timing.exit_code, 1);
  EXPECT_THAT(timing.err, HasSubstr("must be at least three heartbeat periods"));

  const auto tiny = Weft(
      {"start", "--head", "--port", "0", "--session-dir", session, "--max-message-size", "1KiB"});
  EXPECT_NE(tiny.exit_code, 0);
  EXPECT_THAT(tiny.err, HasSubstr("--max-message-size"));
  const auto node_limit = Weft({"start", "--address", "127.0.0.1:1", "--session-dir", session,
                                "--max-message-size", "64MiB"});
  EXPECT_NE(node_limit.exit_code, 0);
  EXPECT_THAT(node_limit.err, HasSubstr("--max-message-size requires --head"));
  EXPECT_TRUE(RayletPids(session).empty());
}

// --advertise-address names a host (issue 14): brackets, a port, a wildcard or nothing is a
// usage error (exit 2), from `weft start` and from weft-raylet itself, before anything starts.
TEST(ClusterCli, AnAdvertiseAddressThatIsNoHostIsAUsageError) {
  TempDir dir;
  const std::string session = dir.Sub("s");
  const std::pair<const char*, const char*> refused[] = {
      {"", "is empty"},
      {"[fd00::5]", "has brackets"},
      {"10.0.0.5:7070", "has a port"},
      {"weft-head:7070", "has a port"},
      {"0.0.0.0", "is a wildcard"},
      {"::", "is a wildcard"},
      {"weft head", "is no DNS name or IP address"}};
  for (const auto& [host, why] : refused) {
    SCOPED_TRACE(host);
    const auto started = Weft(
        {"start", "--head", "--port", "0", "--session-dir", session, "--advertise-address", host});
    EXPECT_EQ(started.exit_code, 2);
    EXPECT_THAT(started.out + started.err, HasSubstr(why));
  }
  const auto raylet =
      testing::Run({BinPath("weft-raylet"), "--head", "--port", "0", "--session-dir", session,
                    "--advertise-address", "10.0.0.5:7070"},
                   std::chrono::seconds(30));
  EXPECT_EQ(raylet.exit_code, 2);
  EXPECT_THAT(raylet.out + raylet.err, HasSubstr("has a port"));
  EXPECT_TRUE(RayletPids(session).empty());
}

// A command that queries the cluster from a machine with no session of it: the head's address
// and a copy of the token file (issue 14).
TEST(ClusterCli, QueriesTakeATokenFile) {
  TestCluster cluster(1);
  TempDir dir;
  const std::vector<std::string> elsewhere = {"WEFT_SESSION_DIR=" + dir.Sub("none")};
  const auto listed = testing::Run({BinPath("weft"), "list", "nodes", "--address",
                                    cluster.head_address(), "--token-file", cluster.token_file()},
                                   std::chrono::seconds(30), elsewhere);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("ALIVE"));

  const std::string wrong = dir.Sub("wrong-token");
  ASSERT_TRUE(WriteTokenFile(wrong, std::string(64, 'f')).ok());
  const auto refused = testing::Run(
      {BinPath("weft"), "status", "--address", cluster.head_address(), "--token-file", wrong},
      std::chrono::seconds(30), elsewhere);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("token"));
  const auto missing = testing::Run({BinPath("weft"), "list", "actors", "--address",
                                     cluster.head_address(), "--token-file", dir.Sub("nothing")},
                                    std::chrono::seconds(30), elsewhere);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr(dir.Sub("nothing")));
}

TEST(ClusterCli, PortInUseIsAClearError) {
  TestCluster cluster(1);
  const std::string port = cluster.head_address().substr(cluster.head_address().rfind(':') + 1);
  TempDir dir;
  const auto clash = Weft({"start", "--head", "--port", port, "--session-dir", dir.path()});
  EXPECT_EQ(clash.exit_code, 1);
  EXPECT_THAT(clash.err, HasSubstr("cannot listen on 127.0.0.1:" + port));
}

}  // namespace
}  // namespace weft::testing
