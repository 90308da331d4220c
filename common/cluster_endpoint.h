#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace weft {

// Where a cluster's head is and the token to talk to it.
struct ClusterEndpoint {
  std::string head_address;
  std::string token;
};

// Finds the cluster a driver or the CLI should talk to. The head address is `address` when
// given, else $WEFT_ADDRESS, else the session's head_address file; the token is $WEFT_TOKEN,
// else the session's token file. `session_dir` empty means SessionDir::Default().
[[nodiscard]] absl::StatusOr<ClusterEndpoint> ResolveClusterEndpoint(
    const std::string& address, const std::string& session_dir);

}  // namespace weft
