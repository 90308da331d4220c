#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "certificates.grpc.pb.h"
#include "common/auth.h"
#include "common/certificates.h"

namespace weft::head {

// The cluster's certificate authority on the wire (proto/certificates.proto): proves the head
// knows the token to whoever asks for the CA, and signs a certificate for each process that
// joins with the token. Thread-safe (it only reads).
class CertificateService final : public proto::Certificates::CallbackService {
 public:
  CertificateService(Identity authority, const TokenAuth& auth)
      : authority_(std::move(authority)), auth_(auth) {}

  const Identity& authority() const { return authority_; }

  grpc::ServerUnaryReactor* GetAuthority(grpc::CallbackServerContext*,
                                         const proto::GetAuthorityRequest*,
                                         proto::GetAuthorityReply*) override;
  grpc::ServerUnaryReactor* IssueCertificate(grpc::CallbackServerContext*,
                                             const proto::IssueCertificateRequest*,
                                             proto::IssueCertificateReply*) override;

 private:
  const Identity authority_;
  const TokenAuth& auth_;
};

}  // namespace weft::head
