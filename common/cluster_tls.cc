#include "common/cluster_tls.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "certificates.grpc.pb.h"
#include "common/auth.h"
#include "common/certificates.h"
#include "common/net_address.h"
#include "common/rpc.h"
#include "common/session_dir.h"

namespace weft {
namespace {

// How long joining waits for the head (a node started with its head waits for it to serve).
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

// A question the head did not answer (rather than answered wrongly): worth a diagnosis.
bool Unanswered(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

// True when the head at `head_address` answers in plaintext: it then says it has no CA
// (GetAuthority needs no token). A TLS head refuses the connection instead.
bool ServesPlaintext(const std::string& head_address, std::chrono::milliseconds wait) {
  auto stub = proto::Certificates::NewStub(
      grpc::CreateChannel(head_address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  SetTimeout(context, wait);
  proto::GetAuthorityRequest request;
  proto::GetAuthorityReply reply;
  return stub->GetAuthority(&context, request, &reply).error_code() ==
         grpc::StatusCode::FAILED_PRECONDITION;
}

}  // namespace

std::string AuthorityProof(const std::string& token, const std::string& nonce,
                           const std::string& ca_pem) {
  unsigned char ca_digest[EVP_MAX_MD_SIZE];
  unsigned int ca_length = 0;
  EVP_Digest(ca_pem.data(), ca_pem.size(), ca_digest, &ca_length, EVP_sha256(), nullptr);
  // Fixed-size parts after a label: no two (nonce, CA) pairs make the same message.
  const std::string message =
      absl::StrCat("weft: the head knows the cluster token, v1", nonce,
                   std::string(reinterpret_cast<const char*>(ca_digest), ca_length));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

namespace {

// The head's answer to GetAuthority over `credentials`, once its proof that it knows `token`
// checks (UNAUTHENTICATED otherwise).
absl::StatusOr<proto::GetAuthorityReply> AskAuthority(
    const std::string& head_address, const std::string& token,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials, std::chrono::milliseconds wait,
    bool patient) {
  auto stub = proto::Certificates::NewStub(grpc::CreateChannel(head_address, credentials));
  proto::GetAuthorityRequest request;
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes) != 1) {
    return absl::InternalError("no random bytes for a nonce");
  }
  request.set_nonce(nonce);
  grpc::ClientContext context;
  SetTimeout(context, wait);
  context.set_wait_for_ready(patient);  // a head still starting, as a plaintext join waits
  proto::GetAuthorityReply reply;
  const grpc::Status status = stub->GetAuthority(&context, request, &reply);
  if (!status.ok()) {
    // UNAVAILABLE, or DEADLINE_EXCEEDED for a head that is slow (or that waits for_ready).
    return absl::Status(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                            ? absl::StatusCode::kDeadlineExceeded
                            : absl::StatusCode::kUnavailable,
                        absl::StrCat("cannot ask ", head_address,
                                     " for the cluster's certificate authority over TLS: ",
                                     status.error_message()));
  }
  const std::string expected = AuthorityProof(token, nonce, reply.ca_pem());
  const auto proves = [&expected](const std::string& proof) {
    return proof.size() == expected.size() &&
           CRYPTO_memcmp(proof.data(), expected.data(), expected.size()) == 0;
  };
  // The newest token's proof, or (during a token rotation) the one of the token it replaces.
  if (!proves(reply.proof()) &&
      std::none_of(reply.other_proofs().begin(), reply.other_proofs().end(), proves)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the head at ", head_address,
        " could not prove it knows the cluster token: not this cluster's head (or the wrong "
        "token), its certificate authority is not trusted"));
  }
  return reply;
}

}  // namespace

absl::StatusOr<std::string> FetchClusterAuthority(const std::string& head_address,
                                                  const std::string& token,
                                                  std::chrono::milliseconds wait, bool patient) {
  auto reply = AskAuthority(head_address, token, UnverifiedTls(), wait, patient);
  if (!reply.ok()) {
    if (!Unanswered(reply.status())) return reply.status();
    return absl::UnavailableError(
        absl::StrCat(reply.status().message(),
                     " (does the head run with TLS? it does when started with --tls)"));
  }
  return reply->ca_pem();
}

namespace {

// What this process brought to a TLS handshake with the head.
enum class Shown { kNothing, kFetchedCa, kCa, kCaAndCertificate };

// Why the head at `head_address` did not answer over TLS (`failed`, UNAVAILABLE), in words a
// user can act on: it cannot be reached, it serves plaintext, or it took the connection and the
// TLS handshake failed.
absl::Status WhyNoTlsAnswer(const std::string& head_address, const absl::Status& failed,
                            Shown shown) {
  if (!AcceptsConnections(head_address, std::chrono::seconds(1))) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the head at ", head_address, ": ", failed.message()));
  }
  if (failed.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::UnavailableError(
        absl::StrCat("the head at ", head_address,
                     " takes connections but did not answer in time: ", failed.message()));
  }
  if (ClosedAtOnce(head_address, std::chrono::milliseconds(300))) {
    return absl::UnavailableError(absl::StrCat(
        "the head at ", head_address,
        " closes connections from this address at once: it holds as many as its limits allow "
        "(\"connections refused\" in its log; weft start --max-connections, "
        "--max-connections-per-address)"));
  }
  if (shown != Shown::kNothing && ServesPlaintext(head_address, std::chrono::seconds(5))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the head at ", head_address,
        " does not serve TLS, but this process was given the TLS files of a cluster that does "
        "(a CA",
        shown == Shown::kCaAndCertificate ? ", a certificate" : "", "): are they this cluster's?"));
  }
  const char* check = shown == Shown::kCaAndCertificate
                          ? "are the CA and the certificate shown this cluster's (the certificate "
                            "signed by that CA, still valid)?"
                      : shown == Shown::kCa ? "is the CA given this cluster's? "
                      : shown == Shown::kFetchedCa
                          ? "does the head's certificate name the address it was reached at? "
                          : "";
  return absl::UnavailableError(
      absl::StrCat(failed.message(), " (the head at ", head_address,
                   " takes the connection, but the TLS handshake failed: ", check,
                   shown == Shown::kCaAndCertificate
                       ? ""
                       : absl::StrCat("A head started with --mutual-tls takes only connections "
                                      "that show a certificate of the cluster: ",
                                      kCertificateHint),
                   ")"));
}

}  // namespace

absl::StatusOr<bool> AsksForCertificates(const std::string& head_address, const std::string& token,
                                         const TransportSecurity& security, bool patient,
                                         bool ca_fetched) {
  auto reply = AskAuthority(head_address, token, ChannelCredentialsFor(security),
                            patient ? kJoinTimeout : std::chrono::seconds(5), patient);
  if (!reply.ok()) {
    if (!Unanswered(reply.status())) return reply.status();
    return WhyNoTlsAnswer(head_address, reply.status(),
                          !security.cert_pem.empty() ? Shown::kCaAndCertificate
                          : ca_fetched               ? Shown::kFetchedCa
                                                     : Shown::kCa);
  }
  return reply->mutual_tls();
}

absl::StatusOr<TransportSecurity> ClientSecurityFor(const ClusterEndpoint& endpoint, bool insecure,
                                                    bool learn_mode, bool patient) {
  auto ca = ClusterAuthorityFor(endpoint.head_address, endpoint.token, endpoint.ca_pem, insecure);
  if (!ca.ok()) return ca.status();
  if (ca->empty()) return TransportSecurity{};
  TransportSecurity security{.ca_pem = *std::move(ca)};
  if (!endpoint.cert_pem.empty()) {
    absl::Status usable = CheckKeyOf(endpoint.cert_pem, endpoint.key_pem);
    if (usable.ok()) usable = VerifyCertificate(security.ca_pem, endpoint.cert_pem);
    if (usable.ok()) {
      security.cert_pem = endpoint.cert_pem;
      security.key_pem = endpoint.key_pem;
    } else if (!endpoint.cert_given.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the TLS certificate ", endpoint.cert_given, ": ", usable.message(),
          " (it must be signed by the cluster's CA and valid now: ", kCertificateHint, ")"));
    }
    // Else a session's own pair that does not fit (a raylet rewriting it, another cluster's
    // session): not shown.
  }
  // A certificate to show and no server of this process: whether the cluster asks for it does
  // not matter, and needs no round trip.
  if (!learn_mode && !security.cert_pem.empty()) return security;
  auto mutual = AsksForCertificates(endpoint.head_address, endpoint.token, security, patient,
                                    /*ca_fetched=*/endpoint.ca_pem.empty());
  if (!mutual.ok()) return mutual.status();
  security.mutual = *mutual;
  return security;
}

bool InsecureAllowed() {
  const char* insecure = std::getenv("WEFT_INSECURE");
  return insecure && std::string(insecure) == "1";
}

absl::StatusOr<std::string> ClusterAuthorityFor(const std::string& head_address,
                                                const std::string& token, const std::string& known,
                                                bool insecure) {
  if (!known.empty()) return known;
  const bool plaintext_allowed = IsLoopback(head_address) || insecure;
  // Where plaintext is allowed, a head that answers in plaintext is plaintext: asked first
  // (without the token), so a plaintext cluster costs no TLS handshake that fails.
  if (plaintext_allowed && ServesPlaintext(head_address, std::chrono::seconds(1))) {
    return std::string();
  }
  // On loopback a head is up when asked (weft start returns once it serves): one short try.
  const bool quick = plaintext_allowed;  // plaintext may follow: a handshake refused ends it
  auto fetched = AskAuthority(head_address, token, UnverifiedTls(),
                              quick ? std::chrono::seconds(1) : kJoinTimeout, !quick);
  if (fetched.ok()) return fetched->ca_pem();
  if (!Unanswered(fetched.status())) return fetched.status();  // never plaintext after a bad proof
  if (quick && fetched.status().code() == absl::StatusCode::kDeadlineExceeded) {
    // A head that answers, slowly (a loaded machine): once more, with more time.
    fetched = AskAuthority(head_address, token, UnverifiedTls(), std::chrono::seconds(5), false);
    if (fetched.ok()) return fetched->ca_pem();
    if (!Unanswered(fetched.status())) return fetched.status();
  }
  const absl::Status beyond_loopback = absl::UnavailableError(absl::StrCat(
      fetched.status().message(),
      ". Beyond loopback the token is sent only over TLS; for a head started with --insecure, "
      "allow plaintext (--insecure, or WEFT_INSECURE=1 for drivers and the CLI)"));
  if (!AcceptsConnections(head_address, std::chrono::seconds(1))) {
    // Nothing listens yet: where plaintext is allowed, the calls that follow wait for a head
    // that will serve plaintext, as before TLS.
    return plaintext_allowed ? absl::StatusOr<std::string>(std::string()) : beyond_loopback;
  }
  // Something listens and answered neither way quickly: a plaintext head that was slow, or a
  // TLS head that refused this process's handshake. The token goes in clear only to the first.
  if (ServesPlaintext(head_address, std::chrono::seconds(5))) {
    return plaintext_allowed ? absl::StatusOr<std::string>(std::string()) : beyond_loopback;
  }
  return WhyNoTlsAnswer(head_address, fetched.status(), Shown::kNothing);
}

absl::StatusOr<TransportSecurity> JoinClusterTls(const std::string& head_address,
                                                 const std::string& token, TransportSecurity caller,
                                                 const std::string& name,
                                                 const std::vector<std::string>& hosts,
                                                 uint32_t valid_days) {
  if (caller.ca_pem.empty()) {
    auto fetched = FetchClusterAuthority(head_address, token);
    if (!fetched.ok()) return fetched.status();
    caller.ca_pem = *std::move(fetched);
  }
  auto key = MakePrivateKey();
  if (!key.ok()) return key.status();
  auto public_key = PublicKeyOf(*key);
  if (!public_key.ok()) return public_key.status();
  auto channel = grpc::CreateChannel(head_address, ChannelCredentialsFor(caller));
  auto stub = proto::Certificates::NewStub(channel);
  proto::IssueCertificateRequest request;
  request.set_public_key_pem(*public_key);
  request.set_name(name);
  request.set_valid_days(valid_days);
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
  return TransportSecurity{
      .ca_pem = caller.ca_pem, .cert_pem = reply.cert_pem(), .key_pem = *std::move(key)};
}

std::vector<std::string> HostsToCertify(const std::string& bind_host,
                                        const std::string& advertise_host) {
  std::string host = bind_host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const bool wildcard = host.empty() || IsWildcard(host);
  std::vector<std::string> hosts = {AdvertisedHost(host), "127.0.0.1", "::1", "localhost"};
  if (!advertise_host.empty()) hosts.insert(hosts.begin(), advertise_host);
  if (!wildcard) hosts.push_back(host);
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') {
    hosts.emplace_back(name);
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* found = nullptr;
    if (getaddrinfo(name, nullptr, &hints, &found) == 0) {
      if (found && found->ai_canonname) hosts.emplace_back(found->ai_canonname);
      freeaddrinfo(found);
    }
  }
  // A wildcard listens on every interface: any of their addresses may be dialed.
  ifaddrs* interfaces = nullptr;
  if (wildcard && getifaddrs(&interfaces) == 0) {
    for (const ifaddrs* i = interfaces; i; i = i->ifa_next) {
      if (!i->ifa_addr) continue;
      char text[INET6_ADDRSTRLEN] = {};
      if (i->ifa_addr->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text,
                  sizeof(text));
      } else if (i->ifa_addr->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
        if (IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr)) continue;  // needs a scope to be dialed
        inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
      }
      if (text[0] != '\0') hosts.emplace_back(text);
    }
    freeifaddrs(interfaces);
  }
  std::vector<std::string> unique;
  for (auto& host : hosts) {
    if (std::find(unique.begin(), unique.end(), host) == unique.end()) unique.push_back(host);
  }
  return unique;
}

absl::Status WriteTlsFiles(const std::string& dir, const TransportSecurity& security) {
  std::error_code error;
  const bool made = std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  if (made) chmod(dir.c_str(), 0700);  // a folder that was there keeps its mode
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
  auto cert = ReadFile(dir + "/cert.pem");
  auto key = ReadFile(dir + "/key.pem");
  if (!ca.ok() || !cert.ok() || !key.ok()) {
    return absl::NotFoundError(absl::StrCat("no ca.pem, cert.pem and key.pem in ", dir));
  }
  return TransportSecurity{.ca_pem = *ca, .cert_pem = *cert, .key_pem = *key};
}

}  // namespace weft
