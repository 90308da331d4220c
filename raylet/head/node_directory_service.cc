#include "raylet/head/node_directory_service.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "common/rpc.h"

namespace weft::head {

grpc::ServerUnaryReactor* NodeDirectoryService::RegisterNode(grpc::CallbackServerContext* ctx,
                                                             const proto::RegisterNodeRequest* req,
                                                             proto::RegisterNodeReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  rep->set_heartbeat_period_ms(absl::ToInt64Milliseconds(nodes_.options().heartbeat_period));
  rep->set_node_timeout_ms(absl::ToInt64Milliseconds(nodes_.options().node_timeout));
  rep->set_cluster_id(cluster_id_);
  rep->set_head_lost_timeout_ms(absl::ToInt64Milliseconds(nodes_.options().head_lost_timeout));
  rep->set_max_message_bytes(MaxMessageBytes());
  // A node beyond this machine that says it is at loopback would be accepted and never reached
  // (issue 14): its actors would never start.
  if (IsLoopback(req->node().address()) && !PeerIsLoopback(ctx->peer())) {
    return FinishWith(
        ctx, absl::FailedPreconditionError(absl::StrCat(
                 "node ", req->node().node_id(), " at ", ctx->peer(),
                 " registered the loopback address ", req->node().address(),
                 ", where the head and the other nodes cannot reach it: start it with --host "
                 "<an address of its machine>, or --host 0.0.0.0 --advertise-address <the "
                 "address others reach it at>")));
  }
  const auto status = nodes_.Register(req->node());
  if (status.ok()) hooks_.on_resources_changed();
  return FinishWith(ctx, status);
}

grpc::ServerUnaryReactor* NodeDirectoryService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                          const proto::HeartbeatRequest* req,
                                                          proto::HeartbeatReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (!req->cluster_id().empty() && req->cluster_id() != cluster_id_) {
    return FinishWith(ctx, absl::PermissionDeniedError(absl::StrCat(
                               "node ", req->node_id(), " belongs to cluster ", req->cluster_id(),
                               " but this head serves cluster ", cluster_id_,
                               " (was the head restarted with other storage?)")));
  }
  const auto back = nodes_.Heartbeat(*req);
  if (!back.ok()) return FinishWith(ctx, back.status());
  hooks_.on_resources_changed();
  if (*back) {
    if (auto node = nodes_.Get(req->node_id())) hooks_.on_node_back(*node);
  }
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NodeDirectoryService::UnregisterNode(
    grpc::CallbackServerContext* ctx, const proto::UnregisterNodeRequest* req,
    proto::UnregisterNodeReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const auto status = nodes_.Unregister(req->node_id(), req->reason());
  if (status.ok()) hooks_.on_node_dead(req->node_id());
  return FinishWith(ctx, status);
}

grpc::ServerUnaryReactor* NodeDirectoryService::ReportWorkerExit(
    grpc::CallbackServerContext* ctx, const proto::ReportWorkerExitRequest* req,
    proto::ReportWorkerExitReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const auto& w = req->worker();
  if (w.exit().signal() != 0) {
    spdlog::warn("worker exited id={} node={} pid={} signal={}", w.worker_id(), w.node_id(),
                 w.pid(), w.exit().signal());
  } else {
    spdlog::info("worker exited id={} node={} pid={} exit_code={}", w.worker_id(), w.node_id(),
                 w.pid(), w.exit().exit_code());
  }
  hooks_.on_worker_exit(w);
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NodeDirectoryService::ListNodes(grpc::CallbackServerContext* ctx,
                                                          const proto::ListNodesRequest*,
                                                          proto::ListNodesReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& node : nodes_.List()) *rep->add_nodes() = std::move(node);
  rep->set_cluster_id(cluster_id_);

  hooks_.describe_queue(*rep);
  return FinishWith(ctx, absl::OkStatus());
}

}  // namespace weft::head
