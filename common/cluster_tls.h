#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/transport_security.h"

namespace weft {

// Joining a cluster whose connections use TLS (issue 13), with nothing but the cluster token:
// the head's CA is fetched with a proof that the head knows the token (see
// proto/certificates.proto), then a certificate for a key made here is asked for with the
// token, over TLS verified by that CA.

// HMAC-SHA256(token, nonce || ca_pem): what the head proves it knows the token with.
std::string AuthorityProof(const std::string& token, const std::string& nonce,
                           const std::string& ca_pem);

// The cluster CA of the head at `head_address`. UNAUTHENTICATED when its proof does not check
// (whoever answers does not know the token), UNAVAILABLE when it cannot be reached over TLS.
absl::StatusOr<std::string> FetchClusterAuthority(const std::string& head_address,
                                                  const std::string& token);

// A new key and its certificate for `hosts`, signed by the cluster CA `ca_pem` (fetched when
// empty) through the head at `head_address`.
absl::StatusOr<TransportSecurity> JoinClusterTls(const std::string& head_address,
                                                 const std::string& token, std::string ca_pem,
                                                 const std::string& name,
                                                 const std::vector<std::string>& hosts);

// The hosts a process listening on `bind_host` is reached at: the address it advertises,
// loopback, and the machine's name.
std::vector<std::string> HostsToCertify(const std::string& bind_host);

// A session's TLS files in `dir` (SessionDir::TlsDir): ca.pem, cert.pem and key.pem, the key
// readable by its owner only; read back (NOT_FOUND when there is no ca.pem).
absl::Status WriteTlsFiles(const std::string& dir, const TransportSecurity& security);
absl::StatusOr<TransportSecurity> ReadTlsFiles(const std::string& dir);

}  // namespace weft
