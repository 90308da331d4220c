#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace weft {

// Where a cluster's head is and the token to talk to it.
struct ClusterEndpoint {
  std::string head_address;
  std::string token;
  std::string token_file;  // where the token was read from; empty when from $WEFT_TOKEN
  std::string ca_pem;      // the cluster CA's certificate when its connections use TLS, else empty
  // A certificate of that CA and its key, shown to servers that ask for one (mutual TLS).
  std::string cert_pem;
  std::string key_pem;
  // Where the user named the certificate ("$WEFT_TLS_CERT=<file>", a --tls-cert file): one
  // that does not fit is then an error. Empty for a session's own (left out if it does not).
  std::string cert_given;
  // Where others reach the head, when it differs from head_address: a head's session records
  // it (head_address being where this machine dials the head, e.g. loopback for a head on
  // every interface). Empty otherwise. A driver serves its objects toward it (ReachedHeadAt).
  std::string head_advertised_address;
};

// Where the cluster's other machines reach the head of `endpoint`.
inline const std::string& ReachedHeadAt(const ClusterEndpoint& endpoint) {
  return endpoint.head_advertised_address.empty() ? endpoint.head_address
                                                  : endpoint.head_advertised_address;
}

// Finds the cluster a driver or the CLI should talk to; what is said explicitly wins.
//   head address: `address`; else, when `session_dir` is given, that session's record;
//                 else $WEFT_ADDRESS; else the default session's record. Where others reach
//                 it: the session's record of that, when the session records this head.
//   token:        the file `token_file` when given; else when `session_dir` is given, that
//                 session's token; else $WEFT_TOKEN; else the default session's token.
//   TLS CA:       when `session_dir` is given, that session's tls/ca.pem; else the file
//                 $WEFT_TLS_CA names; else the default session's tls/ca.pem; none: plaintext.
//   certificate:  from where the CA came: $WEFT_TLS_CERT and $WEFT_TLS_KEY (both or neither),
//                 or the session's tls/cert.pem and key.pem when this user can read them.
[[nodiscard]] absl::StatusOr<ClusterEndpoint> ResolveClusterEndpoint(
    const std::string& address, const std::string& session_dir, const std::string& token_file = "");

}  // namespace weft
