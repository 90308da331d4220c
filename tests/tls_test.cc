// A cluster whose every connection uses TLS (issue 13), with real daemons: the head makes the
// cluster's certificate authority, a node joins with nothing but the token, and a driver's
// calls, objects and borrowed values cross between processes over TLS. A plaintext peer, a
// driver that trusts another CA, and a node whose token the head cannot prove it knows are
// refused with the reason.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/certificates.h"
#include "common/rpc.h"
#include "common/session_dir.h"
#include "common/transport_security.h"
#include "head.grpc.pb.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

int ModeOf(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

grpc::StatusCode ListNodesStatus(const std::string& address, const std::string& token) {
  auto stub = proto::NodeDirectory::NewStub(MakeChannel(address, token));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::seconds(5));
  proto::ListNodesReply reply;
  return stub->ListNodes(&context, proto::ListNodesRequest(), &reply).error_code();
}

TEST(TlsClusterTest, AClusterWithTlsServesDriversAndRefusesStrangers) {
  TestCluster cluster(1, {"--tls", "--resources", R"({"a": 1})"});
  const std::string node =
      cluster.JoinNode({"--tls", "--num-cpus", "1", "--resources", R"({"b": 1})"});
  ASSERT_FALSE(node.empty());
  const SessionDir head(cluster.head_session());
  EXPECT_EQ(ModeOf(head.TlsDir() + "/key.pem"), 0600);
  EXPECT_EQ(ModeOf(SessionDir(node).TlsDir() + "/key.pem"), 0600);
  const auto ca = ReadFile(head.TlsDir() + "/ca.pem");
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_TRUE(
      VerifyCertificate(*ca, ReadFile(SessionDir(node).TlsDir() + "/cert.pem").value_or("")).ok())
      << "the node's certificate is not signed by the cluster's CA";

  // Plaintext, even with the token: refused at the connection.
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
}

}  // namespace
}  // namespace weft::testing
