#include "cli/head_query.h"

#include "absl/strings/str_cat.h"
#include "common/cluster_endpoint.h"
#include "common/cluster_tls.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/transport_security.h"
#include "head.grpc.pb.h"

namespace weft::cli {

absl::StatusOr<ClusterEndpoint> ResolveAndSecure(const ClusterFlags& flags) {
  auto endpoint = ResolveClusterEndpoint(flags.address, flags.session_dir);
  // A cluster with TLS: every channel of this command trusts its CA (no certificate of its own).
  if (!endpoint.ok()) return endpoint;
  auto ca = ClusterAuthorityFor(endpoint->head_address, endpoint->token, endpoint->ca_pem,
                                InsecureAllowed());
  if (!ca.ok()) return ca.status();  // the token is not sent in clear
  if (!ca->empty()) SetTransportSecurity({.ca_pem = *ca});
  endpoint->ca_pem = *std::move(ca);
  return endpoint;
}

absl::StatusOr<NodeTable> FetchNodes(const ClusterFlags& flags) {
  auto endpoint = ResolveAndSecure(flags);
  if (!endpoint.ok()) return endpoint.status();
  auto stub = proto::NodeDirectory::NewStub(MakeChannel(endpoint->head_address, endpoint->token));
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::milliseconds(3000));
  NodeTable table{endpoint->head_address, {}};
  const auto status =
      FromGrpcStatus(stub->ListNodes(&context, proto::ListNodesRequest(), &table.reply));
  if (!status.ok()) {
    return absl::Status(
        status.code(),
        absl::StrCat("cannot reach the head at ", endpoint->head_address, ": ", status.message()));
  }
  return table;
}

}  // namespace weft::cli
