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
  auto endpoint = ResolveClusterEndpoint(flags.address, flags.session_dir, flags.token_file);
  // A cluster with TLS: every channel of this command trusts its CA, and shows the endpoint's
  // certificate (the session's, or $WEFT_TLS_CERT) to servers that ask for one.
  if (!endpoint.ok()) return endpoint;
  auto security = ClientSecurityFor(*endpoint, InsecureAllowed(), /*learn_mode=*/false);
  if (!security.ok()) return security.status();  // the token is not sent in clear
  if (security->tls()) SetTransportSecurity(*security);
  endpoint->ca_pem = security->ca_pem;
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
