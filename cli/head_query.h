#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/cluster_endpoint.h"
#include "head.pb.h"

namespace weft::cli {

// Which cluster a read-only command talks to.
struct ClusterFlags {
  std::string address;      // empty: $WEFT_ADDRESS, else the session's record
  std::string session_dir;  // empty: default session
  std::string token_file;   // empty: the session's token, or $WEFT_TOKEN
};

struct NodeTable {
  std::string head_address;  // where it was asked
  proto::ListNodesReply reply;
};

// The cluster `flags` name (see ResolveClusterEndpoint); when its connections use TLS, every
// channel this process makes from then on trusts the cluster's CA.
[[nodiscard]] absl::StatusOr<ClusterEndpoint> ResolveAndSecure(const ClusterFlags& flags);

// Asks the head for its node table. UNAVAILABLE (with the address in the message) when
// the head cannot be reached.
[[nodiscard]] absl::StatusOr<NodeTable> FetchNodes(const ClusterFlags& flags);

}  // namespace weft::cli
