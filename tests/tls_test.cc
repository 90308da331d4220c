// A cluster whose every connection uses TLS (issue 13), with real daemons: the head makes the
// cluster's certificate authority, a node or driver joins with nothing but the token (it
// learns the CA from the head's proof), and a driver's calls, objects and borrowed values
// cross between processes over TLS. A plaintext peer, a driver that trusts another CA, and a
// node whose token the head cannot prove it knows are refused with the reason.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "common/certificates.h"
#include "common/process.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "common/transport_security.h"
#include "head.grpc.pb.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

grpc::StatusCode ListNodesStatus(const std::string& address, const std::string& token) {
  auto stub = proto::NodeDirectory::NewStub(MakeChannel(address, token));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  proto::ListNodesReply reply;
  return stub->ListNodes(&context, proto::ListNodesRequest(), &reply).error_code();
}

// A head with --tls offering {"a": 1} and a node with --tls offering {"b": 1}, as tls_driver
// wants them.
class TlsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(node.empty()); }

  TestCluster cluster{1, {"--tls", "--resources", R"({"a": 1})"}};
  const std::string node =
      cluster.JoinNode({"--tls", "--num-cpus", "1", "--resources", R"({"b": 1})"});
  const SessionDir head{cluster.head_session()};
};

TEST_F(TlsClusterTest, AClusterWithTlsServesDriversAndRefusesStrangers) {
  EXPECT_EQ(ModeOf(head.TlsDir() + "/key.pem"), 0600);
  EXPECT_EQ(ModeOf(SessionDir(node).TlsDir() + "/key.pem"), 0600);
  const auto ca = ReadFile(head.TlsDir() + "/ca.pem");
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_TRUE(
      VerifyCertificate(*ca, ReadFile(SessionDir(node).TlsDir() + "/cert.pem").value_or("")).ok())
      << "the node's certificate is not signed by the cluster's CA";

  // Plaintext, even with the token: refused at the connection.
  SetTransportSecurity({});
  EXPECT_EQ(ListNodesStatus(cluster.head_address(), cluster.token()),
            grpc::StatusCode::UNAVAILABLE);
  SetTransportSecurity({.ca_pem = *ca});  // this test's channels from here on
  EXPECT_EQ(ListNodesStatus(cluster.head_address(), cluster.token()), grpc::StatusCode::OK);
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 2);

  const auto driven = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                   {"WEFT_SESSION_DIR=" + cluster.head_session()});
  EXPECT_EQ(driven.exit_code, 0) << driven.out << driven.err;
  EXPECT_THAT(driven.out, HasSubstr("secret-argument-5f1e"));
  EXPECT_THAT(driven.out, HasSubstr("ok"));

  // The CLI finds the CA in the session dir.
  const auto listed = Weft({"list", "nodes", "--session-dir", cluster.head_session()});
  EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("ALIVE"));

  // A driver that trusts another CA does not send its token to this head.
  TempDir elsewhere;
  auto other = MakeCertificateAuthority("another cluster");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(WriteFileAtomic(elsewhere.Sub("ca.pem"), other->cert_pem).ok());
  const auto refused = testing::Run(
      {BinPath("tls_driver")}, std::chrono::seconds(60),
      {"WEFT_SESSION_DIR=" + elsewhere.path(), "WEFT_ADDRESS=" + cluster.head_address(),
       "WEFT_TOKEN=" + cluster.token(), "WEFT_TLS_CA=" + elsewhere.Sub("ca.pem")});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.out + refused.err, HasSubstr("TLS"));

  // A node given another token: the head cannot prove it knows it, and is not trusted.
  ASSERT_TRUE(WriteFileAtomic(elsewhere.Sub("token"), std::string(64, 'f') + "\n", 0600).ok());
  const auto impostor = Weft({"start", "--address", cluster.head_address(), "--tls",
                              "--session-dir", elsewhere.Sub("node"), "--token-file",
                              elsewhere.Sub("token"), "--exit-with-pid", std::to_string(getpid())});
  EXPECT_NE(impostor.exit_code, 0);
  EXPECT_THAT(impostor.out + impostor.err, HasSubstr("could not prove it knows the cluster token"));
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 2) << "the cluster stopped serving";

  // Without the CA file, a driver or a node learns the CA from the head (whose proof checks)
  // before it sends the token, and goes on over TLS.
  const auto unaware =
      testing::Run({BinPath("tls_driver")}, std::chrono::seconds(60),
                   {"WEFT_SESSION_DIR=" + elsewhere.Sub("empty"),
                    "WEFT_ADDRESS=" + cluster.head_address(), "WEFT_TOKEN=" + cluster.token()});
  EXPECT_EQ(unaware.exit_code, 0) << unaware.out << unaware.err;
  EXPECT_THAT(unaware.out, HasSubstr("ok"));
  const auto plain_node =
      Weft({"start", "--address", cluster.head_address(), "--session-dir", elsewhere.Sub("plain"),
            "--token-file", cluster.token_file(), "--exit-with-pid", std::to_string(getpid())});
  EXPECT_EQ(plain_node.exit_code, 0) << plain_node.out << plain_node.err;
  EXPECT_TRUE(
      VerifyCertificate(
          *ca, ReadFile(SessionDir(elsewhere.Sub("plain")).TlsDir() + "/cert.pem").value_or(""))
          .ok())
      << "a node that joined a TLS head without --tls does not use TLS";
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 3);
  EXPECT_EQ(Weft({"stop", "--session-dir", elsewhere.Sub("plain")}).exit_code, 0);
}

// A token rotated on a TLS cluster: the head proves it knows either token while both are
// accepted, a driver with the new one joins, and the old one buys no certificate.
TEST_F(TlsClusterTest, ARotatedTokenJoinsDriversAndTheOldOneBuysNoCertificate) {
  const std::string old_token = cluster.token();
  const auto rotated =
      Weft({"token", "rotate", "--grace", "60s", "--session-dir", cluster.head_session()});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  EXPECT_THAT(rotated.out, HasSubstr("2 nodes"));
  const auto driven = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                   {"WEFT_SESSION_DIR=" + cluster.head_session()});
  EXPECT_EQ(driven.exit_code, 0) << driven.out << driven.err;
  EXPECT_THAT(driven.out, HasSubstr("ok"));
  // The old token: the head's proof still checks (the CA is trusted), the certificate is not
  // issued.
  TempDir elsewhere;
  const auto stale =
      testing::Run({BinPath("tls_driver")}, std::chrono::seconds(60),
                   {"WEFT_SESSION_DIR=" + elsewhere.Sub("empty"),
                    "WEFT_ADDRESS=" + cluster.head_address(), "WEFT_TOKEN=" + old_token});
  EXPECT_NE(stale.exit_code, 0);
  EXPECT_THAT(stale.out + stale.err, HasSubstr("a certificate needs the new one"));
  EXPECT_THAT(stale.out + stale.err, Not(HasSubstr("could not prove")));
  // A node that joins with the new token gets its certificate.
  EXPECT_FALSE(cluster.JoinNode({"--tls", "--num-cpus", "1"}).empty());
  EXPECT_EQ(cluster.ListNodes().nodes_size(), 3);
}

// The CA stays with the cluster: its key is not in the store in clear, a head that takes the
// cluster over serves under the same CA (its node and a driver go on), and a head restarted
// without --tls is refused instead of stranding the nodes that joined with TLS.
TEST_F(TlsClusterTest, ARestartedHeadKeepsTheClustersCa) {
  const auto ca = ReadFile(head.TlsDir() + "/ca.pem");
  ASSERT_TRUE(ca.ok());
  for (const char* suffix : {"", "-wal"}) {
    EXPECT_THAT(ReadFile(head.HeadStatePath() + suffix).value_or(""),
                ::testing::Not(HasSubstr("PRIVATE KEY")))
        << "the CA's key is stored in clear";
  }
  const pid_t old_head = cluster.HeadPid();
  ASSERT_EQ(kill(old_head, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(old_head); }));

  const std::string address = cluster.head_address();
  const auto plaintext = Weft({"start", "--head", "--port", address.substr(address.rfind(':') + 1),
                               "--session-dir", cluster.head_session(), "--num-cpus", "1",
                               "--exit-with-pid", std::to_string(getpid())});
  EXPECT_NE(plaintext.exit_code, 0);
  EXPECT_THAT(plaintext.out + plaintext.err, HasSubstr("was started with --tls"));

  const auto restarted = cluster.RestartHead();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  EXPECT_EQ(ReadFile(head.TlsDir() + "/ca.pem").value_or(""), *ca) << "the cluster got a new CA";
  ASSERT_TRUE(WaitFor([&] { return cluster.AliveNodeCount() == 2; }, std::chrono::seconds(20)))
      << "the node that joined with TLS did not come back";
  const auto driven = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                   {"WEFT_SESSION_DIR=" + cluster.head_session()});
  EXPECT_EQ(driven.exit_code, 0) << driven.out << driven.err;
}

// Beyond loopback TLS is the default; plaintext there needs --insecure, and says so at start.
TEST(TlsDefaultTest, BeyondLoopbackTlsIsTheDefaultAndPlaintextIsWarnedOf) {
  for (const bool insecure : {false, true}) {
    SCOPED_TRACE(insecure ? "--insecure" : "default");
    TempDir dir;
    std::vector<std::string> args = {"start",           "--head",
                                     "--host",          "0.0.0.0",
                                     "--port",          "0",
                                     "--num-cpus",      "0",
                                     "--session-dir",   dir.Sub("head"),
                                     "--exit-with-pid", std::to_string(getpid())};
    if (insecure) args.push_back("--insecure");
    const auto started = Weft(args);
    ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
    EXPECT_EQ(started.out.find("WARNING: --insecure") != std::string::npos, insecure)
        << started.out;
    EXPECT_EQ(std::filesystem::exists(SessionDir(dir.Sub("head")).TlsDir() + "/ca.pem"), !insecure);
    EXPECT_EQ(Weft({"stop", "--session-dir", dir.Sub("head")}).exit_code, 0);
  }
}

// A head listening on every interface takes plaintext from the network whatever address it
// advertises: --insecure is warned of by where it listens too.
TEST(TlsDefaultTest, PlaintextOnEveryInterfaceIsWarnedOfThoughLoopbackIsAdvertised) {
  TempDir dir;
  const auto started =
      Weft({"start", "--head", "--host", "0.0.0.0", "--advertise-address", "127.0.0.1", "--port",
            "0", "--num-cpus", "0", "--insecure", "--session-dir", dir.Sub("head"),
            "--exit-with-pid", std::to_string(getpid())});
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  EXPECT_THAT(started.out, HasSubstr("WARNING: --insecure"));
  EXPECT_EQ(Weft({"stop", "--session-dir", dir.Sub("head")}).exit_code, 0);
}

// A driver of a head beyond loopback that finds no route toward it does not serve its objects
// on loopback, where no worker of another machine reaches them: it fails, naming the head.
// (tls_driver serves as any driver: it never gets past weft::Init here.)
TEST(DriverAddressTest, ADriverThatFindsNoRouteTowardItsHeadFailsNamingIt) {
  TempDir empty;
  const auto driven =
      testing::Run({BinPath("tls_driver")}, std::chrono::seconds(60),
                   {"WEFT_SESSION_DIR=" + empty.path(), "WEFT_ADDRESS=255.255.255.255:7070",
                    "WEFT_TOKEN=" + std::string(64, 'a')});
  EXPECT_NE(driven.exit_code, 0);
  EXPECT_THAT(driven.out + driven.err, HasSubstr("address toward the cluster's head"));
  EXPECT_THAT(driven.out + driven.err, HasSubstr("255.255.255.255:7070"));
}

}  // namespace
}  // namespace weft::testing
