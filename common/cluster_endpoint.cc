#include "common/cluster_endpoint.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/session_dir.h"

namespace weft {

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

absl::StatusOr<std::string> RecordedHeadAddress(const SessionDir& session) {
  auto recorded = ReadFile(session.HeadAddressPath());
  if (!recorded.ok()) {
    return absl::NotFoundError(absl::StrCat("no cluster address: no ", session.HeadAddressPath(),
                                            " (is a cluster running? `weft start --head`); "
                                            "pass --address, or the cluster's --session-dir"));
  }
  return std::string(absl::StripAsciiWhitespace(*recorded));
}

// The CA, and a certificate with its key, from the environment or the session (see the header).
absl::Status ResolveTlsFiles(const SessionDir& session, bool explicit_session,
                             ClusterEndpoint& endpoint) {
  const bool from_env = !explicit_session && !Env("WEFT_TLS_CA").empty();
  if (!from_env) {
    // The session's files: the key only when this user may read it (a raylet's own session).
    if (auto ca = ReadFile(session.TlsDir() + "/ca.pem"); ca.ok()) endpoint.ca_pem = *ca;
    auto cert = ReadFile(session.TlsDir() + "/cert.pem");
    auto key = ReadFile(session.TlsDir() + "/key.pem");
    if (!endpoint.ca_pem.empty() && cert.ok() && key.ok()) {
      endpoint.cert_pem = *std::move(cert);
      endpoint.key_pem = *std::move(key);
    }
    if (!Env("WEFT_TLS_CERT").empty() && !explicit_session) {
      return absl::FailedPreconditionError(
          "$WEFT_TLS_CERT is set without $WEFT_TLS_CA: give the cluster's CA with it");
    }
    return absl::OkStatus();
  }
  for (const auto& [name, field] :
       {std::pair{"WEFT_TLS_CA", &endpoint.ca_pem}, std::pair{"WEFT_TLS_CERT", &endpoint.cert_pem},
        std::pair{"WEFT_TLS_KEY", &endpoint.key_pem}}) {
    const std::string file = Env(name);
    if (file.empty()) continue;
    auto read = ReadFile(file);
    if (!read.ok()) {
      // Not NOT_FOUND: a driver told where its files are must not go on without them.
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read $", name, "=", file, ": ", read.status().message()));
    }
    *field = *std::move(read);
  }
  if (endpoint.cert_pem.empty() != endpoint.key_pem.empty()) {
    return absl::FailedPreconditionError(
        "give both $WEFT_TLS_CERT and $WEFT_TLS_KEY (a certificate and its key), or neither");
  }
  if (!endpoint.cert_pem.empty()) endpoint.cert_given = "$WEFT_TLS_CERT=" + Env("WEFT_TLS_CERT");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClusterEndpoint> ResolveClusterEndpoint(const std::string& address,
                                                       const std::string& session_dir,
                                                       const std::string& token_file) {
  const bool explicit_session = !session_dir.empty();
  const SessionDir session(explicit_session ? session_dir : SessionDir::Default());
  ClusterEndpoint endpoint{address, explicit_session ? "" : Env("WEFT_TOKEN")};
  if (!token_file.empty()) {
    auto token = ReadTokenFile(token_file);
    if (!token.ok()) return absl::FailedPreconditionError(token.status().message());
    endpoint.token = *token;
    endpoint.token_file = token_file;
  }
  // What was said is checked first: a bad setting is an error (FAILED_PRECONDITION or
  // INVALID_ARGUMENT), never "no cluster" (NOT_FOUND), which a driver answers with a cluster
  // of its own.
  if (!endpoint.token.empty()) {
    if (auto valid = CheckToken(endpoint.token, "$WEFT_TOKEN"); !valid.ok()) return valid;
  }
  if (endpoint.head_address.empty() && !explicit_session)
    endpoint.head_address = Env("WEFT_ADDRESS");
  if (endpoint.head_address.empty()) {
    auto recorded = RecordedHeadAddress(session);
    if (!recorded.ok()) return recorded.status();
    endpoint.head_address = *recorded;
  }
  if (RecordedHeadAddress(session).value_or("") == endpoint.head_address) {
    // (A file of its own: older sessions and the nodes' have none.)
    if (auto advertised = ReadFile(session.HeadAdvertisedAddressPath()); advertised.ok()) {
      endpoint.head_advertised_address = std::string(absl::StripAsciiWhitespace(*advertised));
    }
  }
  if (auto tls = ResolveTlsFiles(session, explicit_session, endpoint); !tls.ok()) return tls;
  if (!endpoint.token.empty()) return endpoint;
  auto token = ReadTokenFile(session.TokenPath());
  if (!token.ok()) {
    // A cluster is known (its head's address), its token is not.
    return absl::FailedPreconditionError(absl::StrCat(
        token.status().message(), "; set WEFT_TOKEN or pass the cluster's --session-dir"));
  }
  endpoint.token = *token;
  endpoint.token_file = session.TokenPath();
  return endpoint;
}

}  // namespace weft
