#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cluster_endpoint.h"
#include "common/transport_security.h"

namespace weft {

// Joining a cluster whose connections use TLS (issue 13), with nothing but the cluster token:
// the head's CA is fetched with a proof that the head knows the token (see
// proto/certificates.proto), then a certificate for a key made here is asked for with the
// token, over TLS verified by that CA.

// What the head proves it knows the token with: HMAC-SHA256 under the token of a fixed label,
// the caller's nonce (kNonceBytes) and the SHA-256 of the CA's certificate.
inline constexpr size_t kNonceBytes = 32;
std::string AuthorityProof(const std::string& token, const std::string& nonce,
                           const std::string& ca_pem);

// The cluster CA of the head at `head_address`. UNAUTHENTICATED when its proof does not check
// (whoever answers does not know the token), UNAVAILABLE when it cannot be reached over TLS.
// Waits up to `wait` for a head still starting, or with `patient` false fails at once when the
// head does not answer over TLS.
absl::StatusOr<std::string> FetchClusterAuthority(
    const std::string& head_address, const std::string& token,
    std::chrono::milliseconds wait = std::chrono::seconds(10), bool patient = true);

// The CA to trust for the cluster at `head_address`, asked before the first call that carries
// the token: `known` when given (a session's tls/ca.pem, $WEFT_TLS_CA); else the head's own,
// fetched with its proof (FetchClusterAuthority). Empty (plaintext) only when the head does
// not serve TLS and is on loopback, or with `insecure` (a head started with --insecure).
// Beyond loopback, a head that does not answer over TLS is an error: the token never crosses
// a network in clear unless asked for.
// $WEFT_INSECURE=1: a driver or the CLI may talk plaintext to a head beyond loopback.
bool InsecureAllowed();

absl::StatusOr<std::string> ClusterAuthorityFor(const std::string& head_address,
                                                const std::string& token, const std::string& known,
                                                bool insecure);

// Where a certificate comes from on a cluster with mutual TLS, for messages.
inline constexpr char kCertificateHint[] =
    "issue one on the head's machine with `weft certificate issue --host <host it serves at> "
    "--out DIR`, then start a node with --tls-ca DIR/ca.pem --tls-cert DIR/cert.pem --tls-key "
    "DIR/key.pem, or give a driver or the CLI WEFT_TLS_CA, WEFT_TLS_CERT and WEFT_TLS_KEY";

// Asks the head at `head_address`, over TLS verified by `security`'s CA and showing its
// certificate if it has one, whether the cluster's servers take only connections that show a
// certificate of its CA (mutual TLS); only once the head proves it knows `token`. `patient`
// waits up to 10 s for a head still starting (a node joining), else 5 s at most.
// `ca_fetched`: the CA came from the head (for what a failure names as its likely cause).
absl::StatusOr<bool> AsksForCertificates(const std::string& head_address, const std::string& token,
                                         const TransportSecurity& security, bool patient = false,
                                         bool ca_fetched = false);

// How a driver, the CLI or a node talks to the cluster at `endpoint`: plaintext (see
// ClusterAuthorityFor), or TLS under the cluster's CA, showing the endpoint's certificate to
// servers that ask for one once it is checked (its key, its CA, its validity: a bad one given
// by the user is an error, a session's own that does not fit is left out). With `learn_mode`
// (a process that serves too: a node, a driver) the head is asked whether the cluster is under
// mutual TLS (`mutual`); without, only when there is no certificate to show, so that a head
// that wants one is named as the reason.
absl::StatusOr<TransportSecurity> ClientSecurityFor(const ClusterEndpoint& endpoint, bool insecure,
                                                    bool learn_mode, bool patient = false);

// A new key and its certificate for `hosts`, valid `valid_days` (0: 825), signed by the
// cluster's CA through the head at `head_address`: asked with the token over TLS verified by
// `caller`'s CA (fetched when empty), showing `caller`'s certificate if it has one.
absl::StatusOr<TransportSecurity> JoinClusterTls(const std::string& head_address,
                                                 const std::string& token, TransportSecurity caller,
                                                 const std::string& name,
                                                 const std::vector<std::string>& hosts,
                                                 uint32_t valid_days = 0);

// The hosts a process listening on `bind_host` is reached at: the address it advertises
// (`advertise_host` when given; every address of the machine's interfaces for a wildcard),
// loopback, and the machine's names.
std::vector<std::string> HostsToCertify(const std::string& bind_host,
                                        const std::string& advertise_host = "");

// A session's TLS files in `dir` (SessionDir::TlsDir): ca.pem, cert.pem and key.pem, the key
// readable by its owner only; read back (NOT_FOUND when one of the three is missing).
absl::Status WriteTlsFiles(const std::string& dir, const TransportSecurity& security);
absl::StatusOr<TransportSecurity> ReadTlsFiles(const std::string& dir);

}  // namespace weft
