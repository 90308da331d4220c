#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace weft {

// The keys and certificates of a cluster's TLS (issue 13), made with OpenSSL: the cluster's
// own certificate authority, which signs a certificate for each daemon and client that joins
// with the cluster token. Keys are EC P-256; everything is PEM (keys go to files through
// WriteFileAtomic with mode 0600).

// A private key and its certificate.
struct Identity {
  std::string key_pem;
  std::string cert_pem;
};

// A new certificate authority named `name`: a key and a self-signed certificate (CA:TRUE,
// signing certificates only) valid from now for `valid_for`.
absl::StatusOr<Identity> MakeCertificateAuthority(const std::string& name,
                                                  absl::Duration valid_for = absl::Hours(24 *
                                                                                         3650));

// A new private key, and the public half of one (what a joining process sends to be signed).
absl::StatusOr<std::string> MakePrivateKey();
absl::StatusOr<std::string> PublicKeyOf(const std::string& key_pem);

// What a certificate is for.
struct CertificateRequest {
  std::string name;                // its subject's common name, e.g. "weft node 5f3a..."
  std::vector<std::string> hosts;  // IP addresses and DNS names it may serve (subjectAltName)
  absl::Time not_before = absl::Now() - absl::Hours(1);  // clocks a little apart
  absl::Time not_after = absl::Now() + absl::Hours(24 * 825);
};
// A certificate for `public_key_pem`, signed by `ca`. INVALID_ARGUMENT for a key that does not
// parse, a name over 64 bytes, or a host that is neither an IP address nor a plain DNS name
// (letters, digits, '-' and '.': no wildcard, nothing else).
absl::StatusOr<std::string> SignCertificate(const Identity& ca, const std::string& public_key_pem,
                                            const CertificateRequest& request);
// A new key and its certificate signed by `ca`.
absl::StatusOr<Identity> IssueIdentity(const Identity& ca, const CertificateRequest& request);

// OK when `cert_pem` was signed by `ca_cert_pem` and is valid now; else UNAUTHENTICATED with
// OpenSSL's reason ("certificate has expired", ...).
absl::Status VerifyCertificate(const std::string& ca_cert_pem, const std::string& cert_pem);

// The subjectAltName entries of a certificate ("IP:127.0.0.1", "DNS:host").
absl::StatusOr<std::vector<std::string>> HostsOf(const std::string& cert_pem);
// True when `cert_pem` names `host` (an IP address or a DNS name) in its subjectAltName.
bool Certifies(const std::string& cert_pem, const std::string& host);

// OK when `key_pem` is the private key of the certificate `cert_pem`; else INVALID_ARGUMENT.
absl::Status CheckKeyOf(const std::string& cert_pem, const std::string& key_pem);

// True when the two PEM texts hold the same certificate (whatever their line breaks).
bool SameCertificate(const std::string& a_pem, const std::string& b_pem);

// `secret` sealed with a key derived from the cluster token (HKDF-SHA256, then AES-256-GCM with
// a random nonce): what the head stores of its CA's key, so that the store alone does not give
// it. Open fails with DATA_LOSS for another token or altered bytes.
absl::StatusOr<std::string> SealWithToken(const std::string& token, const std::string& secret);
absl::StatusOr<std::string> OpenWithToken(const std::string& token, const std::string& sealed);

}  // namespace weft
