#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "certificates.grpc.pb.h"
#include "common/auth.h"
#include "common/certificates.h"

namespace weft::head {

// The cluster's certificate authority on the wire (proto/certificates.proto): proves the head
// knows the token to whoever asks for the CA, and signs a certificate for each process that
// joins with the token. Under mutual TLS it signs only for a caller that shows the head's own
// certificate: certificates then come from the head's machine, never from the token alone.
// Thread-safe (it only reads, once serving).
class CertificateService final : public proto::Certificates::CallbackService {
 public:
  CertificateService(Identity authority, const TokenAuth& auth, bool mutual_tls)
      : authority_(std::move(authority)), auth_(auth), mutual_tls_(mutual_tls) {}

  const Identity& authority() const { return authority_; }
  bool mutual_tls() const { return mutual_tls_; }
  // The head's own certificate (what it serves under). Call before serving.
  void ServeUnder(std::string cert_pem) { head_cert_pem_ = std::move(cert_pem); }

  grpc::ServerUnaryReactor* GetAuthority(grpc::CallbackServerContext*,
                                         const proto::GetAuthorityRequest*,
                                         proto::GetAuthorityReply*) override;
  grpc::ServerUnaryReactor* IssueCertificate(grpc::CallbackServerContext*,
                                             const proto::IssueCertificateRequest*,
                                             proto::IssueCertificateReply*) override;

 private:
  const Identity authority_;
  const TokenAuth& auth_;
  const bool mutual_tls_;
  std::string head_cert_pem_;
};

}  // namespace weft::head
