#include "common/transport_security.h"

#include <grpcpp/security/server_credentials.h>

#include "absl/synchronization/mutex.h"

namespace weft {
namespace {

struct State {
  absl::Mutex mu;
  std::shared_ptr<const TransportSecurity> security ABSL_GUARDED_BY(mu) =
      std::make_shared<const TransportSecurity>();
  std::shared_ptr<grpc::ChannelCredentials> channel ABSL_GUARDED_BY(mu);
};

State& Current() {
  static auto* state = new State();  // never destroyed: used until exit
  return *state;
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const TransportSecurity& security) {
  if (!security.tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = security.ca_pem;
  // A client's own certificate, for servers that require one (mutual TLS).
  options.pem_private_key = security.key_pem;
  options.pem_cert_chain = security.cert_pem;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TransportSecurity& security) {
  if (!security.tls()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      security.mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                      : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = security.ca_pem;
  options.pem_key_cert_pairs.push_back({security.key_pem, security.cert_pem});
  return grpc::SslServerCredentials(options);
}

void SetTransportSecurity(TransportSecurity security) {
  auto shared = std::make_shared<const TransportSecurity>(std::move(security));
  auto channel = ChannelCredentialsFor(*shared);
  State& state = Current();
  absl::MutexLock lock(&state.mu);
  state.security = std::move(shared);
  state.channel = std::move(channel);
}

std::shared_ptr<const TransportSecurity> CurrentTransportSecurity() {
  State& state = Current();
  absl::MutexLock lock(&state.mu);
  return state.security;
}

std::shared_ptr<grpc::ChannelCredentials> CurrentChannelCredentials() {
  State& state = Current();
  absl::MutexLock lock(&state.mu);
  if (!state.channel) state.channel = ChannelCredentialsFor(*state.security);
  return state.channel;
}

std::shared_ptr<grpc::ServerCredentials> CurrentServerCredentials() {
  return ServerCredentialsFor(*CurrentTransportSecurity());
}

}  // namespace weft
