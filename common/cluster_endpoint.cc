#include "common/cluster_endpoint.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/session_dir.h"

namespace weft {

absl::StatusOr<ClusterEndpoint> ResolveClusterEndpoint(const std::string& address,
                                                       const std::string& session_dir) {
  const SessionDir session(session_dir.empty() ? SessionDir::Default() : session_dir);
  ClusterEndpoint endpoint;
  endpoint.head_address = address;
  if (endpoint.head_address.empty()) {
    if (const char* env = std::getenv("WEFT_ADDRESS"); env && *env) endpoint.head_address = env;
  }
  if (endpoint.head_address.empty()) {
    auto recorded = ReadFile(session.HeadAddressPath());
    if (!recorded.ok()) {
      return absl::NotFoundError(absl::StrCat("no cluster address: no ", session.HeadAddressPath(),
                                              " (is a cluster running? `weft start --head`), "
                                              "and neither --address nor WEFT_ADDRESS given"));
    }
    endpoint.head_address = std::string(absl::StripAsciiWhitespace(*recorded));
  }
  if (const char* env = std::getenv("WEFT_TOKEN"); env && *env) {
    endpoint.token = env;
    return endpoint;
  }
  auto token = ReadTokenFile(session.TokenPath());
  if (!token.ok()) {
    return absl::Status(token.status().code(),
                        absl::StrCat(token.status().message(),
                                     "; set WEFT_TOKEN or pass the cluster's --session-dir"));
  }
  endpoint.token = *token;
  return endpoint;
}

}  // namespace weft
