#include "cli/head_query.h"

#include "absl/strings/str_cat.h"
#include "common/cluster_endpoint.h"
#include "common/rpc.h"
#include "common/status.h"
#include "head.grpc.pb.h"

namespace weft::cli {

absl::StatusOr<NodeTable> FetchNodes(const ClusterFlags& flags) {
  auto endpoint = ResolveClusterEndpoint(flags.address, flags.session_dir);
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
