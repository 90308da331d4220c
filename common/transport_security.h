#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

namespace weft {

// How a process's gRPC channels and servers protect their connections (issue 13): plaintext,
// or TLS under the cluster's certificate authority, optionally mutual (servers then require a
// client certificate signed by that CA). Every peer's certificate must be signed by the CA and
// name the host it is reached at (subjectAltName).
struct TransportSecurity {
  std::string ca_pem;    // the cluster CA's certificate; empty: plaintext
  std::string cert_pem;  // this process's certificate and key: a server's, or a client's
  std::string key_pem;   //   under mutual TLS
  bool mutual = false;

  bool tls() const { return !ca_pem.empty(); }
};

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const TransportSecurity& security);
std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TransportSecurity& security);

// The process's transport security, used by every channel (MakeChannel) and server made after
// it is set. Plaintext until set; set it before the first channel or server of the cluster
// it is for. Thread-safe.
void SetTransportSecurity(TransportSecurity security);
// What is in force now (later sets do not change a copy already taken), and credentials for
// it: the channels' made once per SetTransportSecurity.
std::shared_ptr<const TransportSecurity> CurrentTransportSecurity();
std::shared_ptr<grpc::ChannelCredentials> CurrentChannelCredentials();
std::shared_ptr<grpc::ServerCredentials> CurrentServerCredentials();

}  // namespace weft
