#include "common/cluster_tls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "certificates.grpc.pb.h"
#include "common/auth.h"
#include "common/certificates.h"
#include "common/rpc.h"
#include "common/session_dir.h"

namespace weft {
namespace {

constexpr std::chrono::seconds kJoinTimeout{10};

// TLS that checks nothing about the server: only for GetAuthority, whose answer is checked by
// its proof instead.
std::shared_ptr<grpc::ChannelCredentials> UnverifiedTls() {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace

std::string AuthorityProof(const std::string& token, const std::string& nonce,
                           const std::string& ca_pem) {
  const std::string message = nonce + ca_pem;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

absl::StatusOr<std::string> FetchClusterAuthority(const std::string& head_address,
                                                  const std::string& token) {
  auto stub = proto::Certificates::NewStub(grpc::CreateChannel(head_address, UnverifiedTls()));
  proto::GetAuthorityRequest request;
  std::string nonce(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 32) != 1) {
    return absl::InternalError("no random bytes for a nonce");
  }
  request.set_nonce(nonce);
  grpc::ClientContext context;
  SetTimeout(context, kJoinTimeout);
  proto::GetAuthorityReply reply;
  const grpc::Status status = stub->GetAuthority(&context, request, &reply);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot fetch the cluster's certificate authority from ", head_address,
        " over TLS: ", status.error_message(),
        " (does the head run with TLS? it does when started with --tls or beyond loopback)"));
  }
  const std::string expected = AuthorityProof(token, nonce, reply.ca_pem());
  if (reply.proof().size() != expected.size() ||
      CRYPTO_memcmp(reply.proof().data(), expected.data(), expected.size()) != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the head at ", head_address,
        " could not prove it knows the cluster token: not this cluster's head (or the wrong "
        "token), its certificate authority is not trusted"));
  }
  return reply.ca_pem();
}

absl::StatusOr<TransportSecurity> JoinClusterTls(const std::string& head_address,
                                                 const std::string& token, std::string ca_pem,
                                                 const std::string& name,
                                                 const std::vector<std::string>& hosts) {
  if (ca_pem.empty()) {
    auto fetched = FetchClusterAuthority(head_address, token);
    if (!fetched.ok()) return fetched.status();
    ca_pem = *std::move(fetched);
  }
  auto key = MakePrivateKey();
  if (!key.ok()) return key.status();
  auto public_key = PublicKeyOf(*key);
  if (!public_key.ok()) return public_key.status();
  TransportSecurity client{.ca_pem = ca_pem};
  auto channel = grpc::CreateChannel(head_address, ChannelCredentialsFor(client));
  auto stub = proto::Certificates::NewStub(channel);
  proto::IssueCertificateRequest request;
  request.set_public_key_pem(*public_key);
  request.set_name(name);
  for (const auto& host : hosts) request.add_hosts(host);
  grpc::ClientContext context;
  SetTimeout(context, kJoinTimeout);
  context.AddMetadata(kTokenMetadataKey, token);
  proto::IssueCertificateReply reply;
  const grpc::Status status = stub->IssueCertificate(&context, request, &reply);
  if (!status.ok()) {
    const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE;
    return absl::Status(
        static_cast<absl::StatusCode>(status.error_code()),
        absl::StrCat("the head at ", head_address,
                     " did not issue a certificate: ", status.error_message(),
                     unreachable ? " (is the CA given that of this cluster, and does the head run "
                                   "with TLS?)"
                                 : ""));
  }
  return TransportSecurity{.ca_pem = ca_pem, .cert_pem = reply.cert_pem(), .key_pem = *key};
}

std::vector<std::string> HostsToCertify(const std::string& bind_host) {
  std::vector<std::string> hosts = {AdvertisedHost(bind_host), "127.0.0.1", "::1", "localhost"};
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') hosts.emplace_back(name);
  if (bind_host != "0.0.0.0" && bind_host != "::" && !bind_host.empty()) {
    hosts.push_back(bind_host);
  }
  std::vector<std::string> unique;
  for (auto& host : hosts) {
    if (std::find(unique.begin(), unique.end(), host) == unique.end()) unique.push_back(host);
  }
  return unique;
}

absl::Status WriteTlsFiles(const std::string& dir, const TransportSecurity& security) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  chmod(dir.c_str(), 0700);
  for (const auto& [name, contents, mode] : {std::tuple{"key.pem", &security.key_pem, 0600},
                                             std::tuple{"cert.pem", &security.cert_pem, 0644},
                                             std::tuple{"ca.pem", &security.ca_pem, 0644}}) {
    if (auto written = WriteFileAtomic(absl::StrCat(dir, "/", name), *contents, mode);
        !written.ok()) {
      return written;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TransportSecurity> ReadTlsFiles(const std::string& dir) {
  auto ca = ReadFile(dir + "/ca.pem");
  if (!ca.ok()) return absl::NotFoundError(absl::StrCat("no TLS files in ", dir));
  TransportSecurity security{.ca_pem = *ca};
  if (auto cert = ReadFile(dir + "/cert.pem"); cert.ok()) security.cert_pem = *cert;
  if (auto key = ReadFile(dir + "/key.pem"); key.ok()) security.key_pem = *key;
  return security;
}

}  // namespace weft
