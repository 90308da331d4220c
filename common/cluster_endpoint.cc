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

}  // namespace

absl::StatusOr<ClusterEndpoint> ResolveClusterEndpoint(const std::string& address,
                                                       const std::string& session_dir) {
  const bool explicit_session = !session_dir.empty();
  const SessionDir session(explicit_session ? session_dir : SessionDir::Default());
  ClusterEndpoint endpoint{address, explicit_session ? "" : Env("WEFT_TOKEN")};
  if (endpoint.head_address.empty() && !explicit_session)
    endpoint.head_address = Env("WEFT_ADDRESS");
  if (endpoint.head_address.empty()) {
    auto recorded = RecordedHeadAddress(session);
    if (!recorded.ok()) return recorded.status();
    endpoint.head_address = *recorded;
  }
  const std::string ca_file = !explicit_session && !Env("WEFT_TLS_CA").empty()
                                  ? Env("WEFT_TLS_CA")
                                  : session.TlsDir() + "/ca.pem";
  if (auto ca = ReadFile(ca_file); ca.ok()) {
    endpoint.ca_pem = *std::move(ca);
  } else if (ca_file != session.TlsDir() + "/ca.pem") {
    return absl::NotFoundError(absl::StrCat("cannot read the cluster CA $WEFT_TLS_CA=", ca_file));
  }
  if (!endpoint.token.empty()) {
    if (auto valid = CheckToken(endpoint.token, "$WEFT_TOKEN"); !valid.ok()) return valid;
    return endpoint;
  }
  auto token = ReadTokenFile(session.TokenPath());
  if (!token.ok()) {
    return absl::Status(token.status().code(),
                        absl::StrCat(token.status().message(),
                                     "; set WEFT_TOKEN or pass the cluster's --session-dir"));
  }
  endpoint.token = *token;
  endpoint.token_file = session.TokenPath();
  return endpoint;
}

}  // namespace weft
