// Mutual TLS (issue 13): a head started with --mutual-tls, and every node, worker and driver of
// its cluster, take only connections that show a certificate the cluster's CA signed. Such
// certificates come from `weft certificate issue` on the head's machine (the head signs for a
// caller that shows the head's own certificate), never for the token alone: a token that
// leaked connects nowhere. Real daemons, real TLS handshakes, over 127.0.0.1.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "common/certificates.h"
#include "common/cluster_tls.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "common/transport_security.h"
#include "head.grpc.pb.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The environment of a driver or CLI on a machine with no session of the cluster: its address,
// token, and the TLS files in `tls` (ca.pem, and cert.pem and key.pem unless `with_cert` is
// false).
std::vector<std::string> RemoteEnv(const TestCluster& cluster, const std::string& empty_session,
                                   const std::string& tls, bool with_cert = true) {
  std::vector<std::string> env = {
      "WEFT_SESSION_DIR=" + empty_session, "WEFT_ADDRESS=" + cluster.head_address(),
      "WEFT_TOKEN=" + cluster.token(), "WEFT_TLS_CA=" + tls + "/ca.pem"};
  if (with_cert) {
    env.push_back("WEFT_TLS_CERT=" + tls + "/cert.pem");
    env.push_back("WEFT_TLS_KEY=" + tls + "/key.pem");
  }
  return env;
}

// A head with --mutual-tls offering {"a": 1}; nodes join it as each test says.
class MutualTlsTest : public ::testing::Test {
 protected:
  TestCluster cluster{1, {"--mutual-tls", "--resources", R"({"a": 1})"}};
  const SessionDir head{cluster.head_session()};
  TempDir dir;

  // `weft certificate issue` on the head's machine, into `out`, for 127.0.0.1.
  CommandResult Issue(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "certificate", "issue",     "--session-dir", cluster.head_session(),
        "--host",      "127.0.0.1", "--out",         out};
    args.insert(args.end(), extra.begin(), extra.end());
    return Weft(args);
  }
  // A node with the files in `tls`, offering {"b": 1}.
  std::string JoinWith(const std::string& tls) {
    return cluster.JoinNode({"--tls-ca", tls + "/ca.pem", "--tls-cert", tls + "/cert.pem",
                             "--tls-key", tls + "/key.pem", "--num-cpus", "1", "--resources",
                             R"({"b": 1})"});
  }
};

TEST_F(MutualTlsTest, NodesAndDriversJoinWithACertificateIssuedOnTheHeadsMachine) {
  EXPECT_EQ(ModeOf(head.TlsDir() + "/key.pem"), 0600);
  // On the head's machine, the session's certificate is the CLI's.
  const auto listed = Weft({"list", "nodes", "--session-dir", cluster.head_session()});
  EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;

  // A node with the token alone is refused, and told where a certificate comes from.
  const auto bare =
      Weft({"start", "--address", cluster.head_address(), "--session-dir", dir.Sub("bare"),
            "--token-file", cluster.token_file(), "--exit-with-pid", std::to_string(getpid())});
  EXPECT_NE(bare.exit_code, 0);
  EXPECT_THAT(bare.out + bare.err, HasSubstr("weft certificate issue"));

  const auto issued = Issue(dir.Sub("node-tls"));
  ASSERT_EQ(issued.exit_code, 0) << issued.out << issued.err;
  EXPECT_EQ(ModeOf(dir.Sub("node-tls") + "/key.pem"), 0600);
  const auto ca = ReadFile(head.TlsDir() + "/ca.pem");
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(VerifyCertificate(*ca, ReadFile(dir.Sub("node-tls/cert.pem")).value_or("")).ok());
  const std::string node = JoinWith(dir.Sub("node-tls"));
  ASSERT_FALSE(node.empty());
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 2);

  // A driver on the head's machine: actors on both nodes, a result fetched worker to worker,
  // a value borrowed from the driver (driver -> worker, worker -> worker, worker -> driver).
  const auto local = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                  {"WEFT_SESSION_DIR=" + cluster.head_session()});
  EXPECT_EQ(local.exit_code, 0) << local.out << local.err;
  EXPECT_THAT(local.out, HasSubstr("ok"));

  // A driver elsewhere, with a certificate issued for it.
  ASSERT_EQ(Issue(dir.Sub("driver-tls")).exit_code, 0);
  const auto remote = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                   RemoteEnv(cluster, dir.Sub("empty"), dir.Sub("driver-tls")));
  EXPECT_EQ(remote.exit_code, 0) << remote.out << remote.err;
  EXPECT_THAT(remote.out, HasSubstr("ok"));
}

TEST_F(MutualTlsTest, TheTokenAloneConnectsNowhereAndBuysNoCertificate) {
  ASSERT_EQ(Issue(dir.Sub("node-tls")).exit_code, 0);
  const std::string node = JoinWith(dir.Sub("node-tls"));
  ASSERT_FALSE(node.empty());
  const auto ca = ReadFile(head.TlsDir() + "/ca.pem");
  ASSERT_TRUE(ca.ok());

  // This process with the CA and the token but no certificate: the head and the node refuse
  // the connection; with a certificate of the cluster, both answer.
  const auto table = cluster.ListNodes();
  ASSERT_EQ(table.nodes_size(), 2);
  std::string node_address;
  for (const auto& n : table.nodes()) {
    if (!n.is_head()) node_address = n.address();
  }
  const auto ask_both = [&] {
    std::vector<grpc::StatusCode> codes;
    auto nodes =
        proto::NodeDirectory::NewStub(MakeChannel(cluster.head_address(), cluster.token()));
    grpc::ClientContext head_context;
    SetTimeout(head_context, std::chrono::seconds(5));
    proto::ListNodesReply listed;
    codes.push_back(
        nodes->ListNodes(&head_context, proto::ListNodesRequest(), &listed).error_code());
    grpc::ClientContext node_context;
    SetTimeout(node_context, std::chrono::seconds(5));
    proto::ListWorkersReply workers;
    codes.push_back(cluster.NodeManager(node_address)
                        ->ListWorkers(&node_context, proto::ListWorkersRequest(), &workers)
                        .error_code());
    return codes;
  };
  SetTransportSecurity({.ca_pem = *ca});
  EXPECT_THAT(ask_both(),
              ElementsAre(grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNAVAILABLE));
  SetTransportSecurity(*ReadTlsFiles(dir.Sub("node-tls")));
  EXPECT_THAT(ask_both(), ElementsAre(grpc::StatusCode::OK, grpc::StatusCode::OK));
  SetTransportSecurity(*ReadTlsFiles(head.TlsDir()));

  // The CLI and a driver elsewhere with the CA and the token only: refused, with the fix.
  const auto cli = testing::Run({BinPath("weft"), "list", "nodes"}, std::chrono::seconds(30),
                                RemoteEnv(cluster, dir.Sub("empty"), dir.Sub("node-tls"), false));
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_THAT(cli.out + cli.err, HasSubstr("certificate"));
  const auto driver =
      testing::Run({BinPath("tls_driver")}, std::chrono::seconds(60),
                   RemoteEnv(cluster, dir.Sub("empty"), dir.Sub("node-tls"), false));
  EXPECT_NE(driver.exit_code, 0);
  EXPECT_THAT(driver.out + driver.err, HasSubstr("weft certificate issue"));

  // A certificate signed by another CA: refused too.
  auto other = MakeCertificateAuthority("another cluster");
  ASSERT_TRUE(other.ok());
  auto forged = IssueIdentity(*other, {.name = "forged", .hosts = {"127.0.0.1"}});
  ASSERT_TRUE(forged.ok());
  ASSERT_TRUE(
      WriteTlsFiles(dir.Sub("forged"),
                    {.ca_pem = *ca, .cert_pem = forged->cert_pem, .key_pem = forged->key_pem})
          .ok());
  const auto stranger = testing::Run({BinPath("weft"), "list", "nodes"}, std::chrono::seconds(30),
                                     RemoteEnv(cluster, dir.Sub("empty"), dir.Sub("forged")));
  EXPECT_NE(stranger.exit_code, 0);
  EXPECT_THAT(stranger.out + stranger.err, HasSubstr("weft certificate issue"));
  // The servers themselves refuse it (not only the client's own check above).
  SetTransportSecurity(*ReadTlsFiles(dir.Sub("forged")));
  EXPECT_THAT(ask_both(),
              ElementsAre(grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNAVAILABLE));
  SetTransportSecurity(*ReadTlsFiles(head.TlsDir()));

  // A node's certificate and the token do not buy another certificate: only the head's own
  // (its machine's session) does.
  const auto by_node = testing::Run(
      {BinPath("weft"), "certificate", "issue", "--host", "10.9.8.7", "--out", dir.Sub("more")},
      std::chrono::seconds(30), RemoteEnv(cluster, dir.Sub("empty"), dir.Sub("node-tls")));
  EXPECT_NE(by_node.exit_code, 0);
  EXPECT_THAT(by_node.out + by_node.err, HasSubstr("head's machine"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("more/cert.pem")));

  // The cluster kept serving through all of it, and takes a new token: its head, node and
  // workers hand it on over connections that show their certificates.
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 2);
  const auto rotated =
      Weft({"token", "rotate", "--grace", "2s", "--session-dir", cluster.head_session()});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  EXPECT_THAT(rotated.out, HasSubstr("taken by 2 nodes"));
  const auto driven = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                   {"WEFT_SESSION_DIR=" + cluster.head_session()});
  EXPECT_EQ(driven.exit_code, 0) << driven.out << driven.err;
}

// The cluster keeps its mode: a head started again without --mutual-tls is refused (its nodes
// and workers would refuse it); with it, it serves the node that joined before.
TEST_F(MutualTlsTest, ARestartedHeadKeepsMutualTls) {
  ASSERT_EQ(Issue(dir.Sub("node-tls")).exit_code, 0);
  ASSERT_FALSE(JoinWith(dir.Sub("node-tls")).empty());
  const pid_t old_head = cluster.HeadPid();
  ASSERT_EQ(kill(old_head, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(old_head); }));
  const std::string address = cluster.head_address();
  const auto plain_tls =
      Weft({"start", "--head", "--tls", "--port", address.substr(address.rfind(':') + 1),
            "--session-dir", cluster.head_session(), "--num-cpus", "1", "--exit-with-pid",
            std::to_string(getpid())});
  EXPECT_NE(plain_tls.exit_code, 0);
  EXPECT_THAT(plain_tls.out + plain_tls.err, HasSubstr("--mutual-tls"));
  const auto restarted = cluster.RestartHead();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  ASSERT_TRUE(WaitFor([&] { return cluster.AliveNodeCount() == 2; }, std::chrono::seconds(20)))
      << "the node that joined with its certificate did not come back";
  const auto driven = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                   {"WEFT_SESSION_DIR=" + cluster.head_session()});
  EXPECT_EQ(driven.exit_code, 0) << driven.out << driven.err;
}

}  // namespace
}  // namespace weft::testing
