// The cluster's certificate authority and TLS on real gRPC connections (issue 13): a
// certificate the CA issued is accepted for the hosts it names; a client without the CA, a
// server whose certificate another CA signed or that has expired, and (under mutual TLS) a
// client without a certificate of the cluster are refused with the reason.

#include "common/certificates.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <memory>

#include "absl/strings/match.h"
#include "common/transport_security.h"
#include "node.grpc.pb.h"

namespace weft {
namespace {

Identity Ca(const std::string& name = "weft test CA") {
  auto ca = MakeCertificateAuthority(name);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : Identity();
}

Identity Issue(const Identity& ca, CertificateRequest request) {
  auto identity = IssueIdentity(ca, request);
  EXPECT_TRUE(identity.ok()) << identity.status();
  return identity.ok() ? *identity : Identity();
}

// A certificate for 127.0.0.1 that expired a day ago.
Identity IssueExpired(const Identity& ca) {
  const absl::Time now = absl::Now();
  return Issue(ca, {.name = "old",
                    .hosts = {"127.0.0.1"},
                    .not_before = now - absl::Hours(48),
                    .not_after = now - absl::Hours(24)});
}

TEST(CertificatesTest, AnIssuedCertificateIsSignedByItsCaAndNamesItsHosts) {
  const Identity ca = Ca();
  const Identity node = Issue(ca, {.name = "weft node n1", .hosts = {"127.0.0.1", "node-1"}});
  EXPECT_TRUE(VerifyCertificate(ca.cert_pem, node.cert_pem).ok());
  EXPECT_TRUE(VerifyCertificate(ca.cert_pem, ca.cert_pem).ok());
  auto hosts = HostsOf(node.cert_pem);
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_EQ(*hosts, (std::vector<std::string>{"IP:127.0.0.1", "DNS:node-1"}));
  const auto other = VerifyCertificate(Ca("another CA").cert_pem, node.cert_pem);
  EXPECT_EQ(other.code(), absl::StatusCode::kUnauthenticated);
}

TEST(CertificatesTest, ACertificateOutOfItsValidityIsRefusedSayingSo) {
  const Identity ca = Ca();
  const Identity expired = IssueExpired(ca);
  const auto refused = VerifyCertificate(ca.cert_pem, expired.cert_pem);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(refused.message(), "expired")) << refused;
}

TEST(CertificatesTest, ACertificateIsMadeForAPublicKeyAloneAndBadInputIsRefused) {
  const Identity ca = Ca();
  auto key = MakePrivateKey();
  ASSERT_TRUE(key.ok());
  auto public_key = PublicKeyOf(*key);
  ASSERT_TRUE(public_key.ok());
  EXPECT_FALSE(absl::StrContains(*public_key, "PRIVATE"));
  auto cert = SignCertificate(ca, *public_key, {.name = "driver", .hosts = {"::1"}});
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(*HostsOf(*cert), (std::vector<std::string>{"IP:::1"}));
  EXPECT_EQ(SignCertificate(ca, "not a key", {.name = "x", .hosts = {"h"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignCertificate(ca, *public_key, {.name = "x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CertificatesTest, OnlyPlainHostsAndShortNamesAreCertified) {
  const Identity ca = Ca();
  auto key = MakePrivateKey();
  ASSERT_TRUE(key.ok());
  const auto public_key = *PublicKeyOf(*key);
  // Each would add names the caller was not given, through the configuration syntax.
  for (const std::string host : {"a,IP:10.0.0.1", "*.example.com", "a b", "", "-x", "[::1]"}) {
    EXPECT_EQ(SignCertificate(ca, public_key, {.name = "x", .hosts = {host}}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << host;
  }
  EXPECT_EQ(SignCertificate(ca, public_key, {.name = std::string(65, 'n'), .hosts = {"h"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      SignCertificate(ca, public_key, {.name = "x", .hosts = {"node-1.example.com", "10.1.2.3"}})
          .ok());
}

// What a node or driver checks of the files it is given before it serves under them.
TEST(CertificatesTest, AGivenCertificateIsCheckedForItsHostAndKey) {
  const Identity ca = Ca();
  const Identity node = Issue(ca, {.name = "n", .hosts = {"127.0.0.1", "::1", "Node-1.lan"}});
  EXPECT_TRUE(Certifies(node.cert_pem, "127.0.0.1"));
  EXPECT_TRUE(Certifies(node.cert_pem, "[::1]"));
  EXPECT_TRUE(Certifies(node.cert_pem, "node-1.LAN"));  // DNS names ignore case
  EXPECT_FALSE(Certifies(node.cert_pem, "127.0.0.2"));
  EXPECT_FALSE(Certifies(node.cert_pem, "node-1"));
  EXPECT_FALSE(Certifies("not a certificate", "127.0.0.1"));

  EXPECT_TRUE(CheckKeyOf(node.cert_pem, node.key_pem).ok());
  const Identity other = Issue(ca, {.name = "o", .hosts = {"127.0.0.1"}});
  EXPECT_EQ(CheckKeyOf(node.cert_pem, other.key_pem).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckKeyOf(node.cert_pem, "garbage").code(), absl::StatusCode::kInvalidArgument);

  // The same certificate whatever its line breaks; another one with the same names is not.
  std::string reflowed = node.cert_pem;
  reflowed.insert(reflowed.find('\n') + 1, "\n");
  EXPECT_TRUE(SameCertificate(node.cert_pem, reflowed));
  EXPECT_FALSE(SameCertificate(node.cert_pem, other.cert_pem));
  EXPECT_FALSE(SameCertificate(node.cert_pem, ""));
}

TEST(CertificatesTest, ASecretSealedWithTheTokenOpensOnlyWithIt) {
  const std::string secret = "-----BEGIN PRIVATE KEY-----\nabc\n";
  auto sealed = SealWithToken("token-1", secret);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->find("PRIVATE"), std::string::npos);
  EXPECT_EQ(*OpenWithToken("token-1", *sealed), secret);
  EXPECT_EQ(OpenWithToken("token-2", *sealed).status().code(), absl::StatusCode::kDataLoss);
  std::string altered = *sealed;
  altered[altered.size() / 2] ^= 1;
  EXPECT_EQ(OpenWithToken("token-1", altered).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(*SealWithToken("token-1", secret), *sealed) << "the nonce is not random";
}

// A node manager that answers CheckNode, served over `security` on 127.0.0.1.
class CheckNodeServer final : public proto::NodeManager::CallbackService {
 public:
  explicit CheckNodeServer(const TransportSecurity& security) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ServerCredentialsFor(security), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~CheckNodeServer() override { server_->Shutdown(); }

  grpc::ServerUnaryReactor* CheckNode(grpc::CallbackServerContext* context,
                                      const proto::CheckNodeRequest*,
                                      proto::CheckNodeReply* reply) override {
    reply->set_serve_for_ms(42);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

grpc::Status Check(const std::string& address, const TransportSecurity& security) {
  auto stub =
      proto::NodeManager::NewStub(grpc::CreateChannel(address, ChannelCredentialsFor(security)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  proto::CheckNodeReply reply;
  const grpc::Status status = stub->CheckNode(&context, proto::CheckNodeRequest(), &reply);
  if (status.ok()) {
    EXPECT_EQ(reply.serve_for_ms(), 42);
  }
  return status;
}

TEST(TransportSecurityTest, TlsServesClientsOfTheClusterCaAndRefusesOthers) {
  const Identity ca = Ca();
  const Identity server = Issue(ca, {.name = "head", .hosts = {"127.0.0.1"}});
  CheckNodeServer tls(
      {.ca_pem = ca.cert_pem, .cert_pem = server.cert_pem, .key_pem = server.key_pem});
  EXPECT_TRUE(Check(tls.address(), {.ca_pem = ca.cert_pem}).ok());
  // Plaintext, and a client that trusts another CA: refused at the handshake.
  EXPECT_EQ(Check(tls.address(), {}).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Check(tls.address(), {.ca_pem = Ca("another CA").cert_pem}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(TransportSecurityTest, AServerCertificateThatExpiredOrNamesAnotherHostIsRefused) {
  const Identity ca = Ca();
  const Identity expired = IssueExpired(ca);
  CheckNodeServer stale(
      {.ca_pem = ca.cert_pem, .cert_pem = expired.cert_pem, .key_pem = expired.key_pem});
  EXPECT_EQ(Check(stale.address(), {.ca_pem = ca.cert_pem}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  const Identity elsewhere = Issue(ca, {.name = "other", .hosts = {"10.9.9.9"}});
  CheckNodeServer misnamed(
      {.ca_pem = ca.cert_pem, .cert_pem = elsewhere.cert_pem, .key_pem = elsewhere.key_pem});
  EXPECT_EQ(Check(misnamed.address(), {.ca_pem = ca.cert_pem}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(TransportSecurityTest, MutualTlsRequiresAClientCertificateOfTheCluster) {
  const Identity ca = Ca();
  const Identity server = Issue(ca, {.name = "head", .hosts = {"127.0.0.1"}});
  CheckNodeServer mutual({.ca_pem = ca.cert_pem,
                          .cert_pem = server.cert_pem,
                          .key_pem = server.key_pem,
                          .mutual = true});
  const Identity client = Issue(ca, {.name = "driver", .hosts = {"127.0.0.1"}});
  EXPECT_TRUE(Check(mutual.address(),
                    {.ca_pem = ca.cert_pem, .cert_pem = client.cert_pem, .key_pem = client.key_pem})
                  .ok());
  EXPECT_FALSE(Check(mutual.address(), {.ca_pem = ca.cert_pem}).ok());
  const Identity stranger = Issue(Ca("another CA"), {.name = "x", .hosts = {"127.0.0.1"}});
  EXPECT_FALSE(
      Check(mutual.address(),
            {.ca_pem = ca.cert_pem, .cert_pem = stranger.cert_pem, .key_pem = stranger.key_pem})
          .ok());
}

}  // namespace
}  // namespace weft
