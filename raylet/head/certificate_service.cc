#include "raylet/head/certificate_service.h"

#include "absl/strings/str_cat.h"
#include "common/certificates.h"
#include "common/cluster_tls.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::head {
namespace {

constexpr size_t kMaxHosts = 16;
constexpr size_t kMaxField = 253;  // a host (a DNS name's limit)
constexpr size_t kMaxName = 64;    // a certificate's common name
constexpr size_t kMaxKey = 4096;   // a PEM public key (EC P-256: ~180 bytes)
constexpr uint32_t kMaxValidDays = 825;

absl::Status NoTls() {
  return absl::FailedPreconditionError("this cluster was started without --tls: it has no CA");
}

// True when the caller's connection showed the certificate `cert_pem` (mutual TLS: gRPC has
// verified that the caller holds its key).
bool ShowsCertificate(const grpc::CallbackServerContext& ctx, const std::string& cert_pem) {
  const auto auth = ctx.auth_context();
  if (!auth || cert_pem.empty()) return false;
  const auto shown = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  return shown.size() == 1 &&
         SameCertificate(std::string(shown.front().data(), shown.front().size()), cert_pem);
}

}  // namespace

grpc::ServerUnaryReactor* CertificateService::GetAuthority(grpc::CallbackServerContext* ctx,
                                                           const proto::GetAuthorityRequest* req,
                                                           proto::GetAuthorityReply* rep) {
  if (authority_.cert_pem.empty()) return FinishWith(ctx, NoTls());
  // No token asked: the caller does not trust this head yet, and the proof says it knows it.
  if (req->nonce().size() != kNonceBytes) {
    return FinishWith(
        ctx, absl::InvalidArgumentError(absl::StrCat("the nonce must be ", kNonceBytes, " bytes")));
  }
  rep->set_ca_pem(authority_.cert_pem);
  rep->set_mutual_tls(mutual_tls_);
  // During a token rotation's grace, for a caller with either token.
  const auto accepted = auth_.Accepted();
  for (size_t i = 0; i < accepted.size(); ++i) {
    auto proof = AuthorityProof(accepted[i], req->nonce(), authority_.cert_pem);
    if (i == 0) {
      rep->set_proof(std::move(proof));
    } else {
      rep->add_other_proofs(std::move(proof));
    }
  }
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* CertificateService::IssueCertificate(
    grpc::CallbackServerContext* ctx, const proto::IssueCertificateRequest* req,
    proto::IssueCertificateReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  // During a token rotation's grace the old token still works, but buys no certificate: one
  // outlives the grace by far.
  if (auth_.Presented(*ctx) != auth_.Accepted().front()) {
    return FinishWith(ctx, absl::PermissionDeniedError(
                               "the cluster token was rotated: a certificate needs the new one"));
  }
  if (authority_.cert_pem.empty()) return FinishWith(ctx, NoTls());
  if (authority_.key_pem.empty()) {
    // Started with the operator's CA (--tls-ca/--tls-cert/--tls-key): its key stays theirs.
    return FinishWith(
        ctx, absl::FailedPreconditionError(
                 "this cluster's head serves under the operator's CA and holds no CA key: it "
                 "signs no certificate. Give this process one of that CA's, for the host it "
                 "serves at: a node --tls-ca/--tls-cert/--tls-key, a driver or the CLI "
                 "WEFT_TLS_CA, WEFT_TLS_CERT and WEFT_TLS_KEY"));
  }
  if (mutual_tls_ && !ShowsCertificate(*ctx, head_cert_pem_)) {
    return FinishWith(
        ctx, absl::PermissionDeniedError(
                 "this cluster runs with --mutual-tls: certificates are issued on the head's "
                 "machine, for a caller that shows the head's own certificate (`weft "
                 "certificate issue --session-dir <the running head's session dir>` there, "
                 "without WEFT_TLS_CA/WEFT_TLS_CERT/WEFT_TLS_KEY set), not for the token and "
                 "another process's certificate"));
  }
  if (req->valid_days() > kMaxValidDays) {
    return FinishWith(ctx, absl::InvalidArgumentError(absl::StrCat(
                               "a certificate is valid for 1 to ", kMaxValidDays, " days")));
  }
  if (req->hosts().empty() || req->hosts_size() > static_cast<int>(kMaxHosts) ||
      req->name().size() > kMaxName || req->public_key_pem().size() > kMaxKey) {
    return FinishWith(ctx, absl::InvalidArgumentError(absl::StrCat(
                               "a certificate request needs 1 to ", kMaxHosts,
                               " hosts, a name of at most ", kMaxName, " bytes and one key")));
  }
  CertificateRequest request{.name = req->name().empty() ? "weft" : req->name()};
  for (const auto& host : req->hosts()) {
    if (host.empty() || host.size() > kMaxField) {
      return FinishWith(ctx, absl::InvalidArgumentError("a host name is empty or too long"));
    }
    request.hosts.push_back(host);
  }
  const uint32_t days = req->valid_days() == 0 ? kMaxValidDays : req->valid_days();
  request.not_after = absl::Now() + absl::Hours(24 * int64_t{days});
  auto cert = SignCertificate(authority_, req->public_key_pem(), request);
  if (!cert.ok()) return FinishWith(ctx, cert.status());
  spdlog::info("certificate issued name=\"{}\" hosts={} days={}", request.name,
               request.hosts.size(), days);
  rep->set_cert_pem(*std::move(cert));
  return FinishWith(ctx, absl::OkStatus());
}

}  // namespace weft::head
