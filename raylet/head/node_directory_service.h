#pragma once

#include <functional>
#include <string>

#include "common/auth.h"
#include "head.grpc.pb.h"
#include "raylet/head/node_directory.h"

namespace weft::head {

// gRPC adapter: checks the token, calls one method of the table, finishes. Never blocks.
class NodeDirectoryService final : public proto::NodeDirectory::CallbackService {
 public:
  using NodeDeadCallback = std::function<void(const std::string& node_id)>;
  using WorkerExitCallback = std::function<void(const proto::WorkerInfo& worker)>;
  NodeDirectoryService(NodeDirectory& nodes, const TokenAuth& auth, std::string cluster_id,
                       NodeDeadCallback on_node_dead, WorkerExitCallback on_worker_exit)
      : nodes_(nodes),
        auth_(auth),
        cluster_id_(std::move(cluster_id)),
        on_node_dead_(std::move(on_node_dead)),
        on_worker_exit_(std::move(on_worker_exit)) {}

  grpc::ServerUnaryReactor* RegisterNode(grpc::CallbackServerContext*,
                                         const proto::RegisterNodeRequest*,
                                         proto::RegisterNodeReply*) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext*, const proto::HeartbeatRequest*,
                                      proto::HeartbeatReply*) override;
  grpc::ServerUnaryReactor* UnregisterNode(grpc::CallbackServerContext*,
                                           const proto::UnregisterNodeRequest*,
                                           proto::UnregisterNodeReply*) override;
  grpc::ServerUnaryReactor* ReportWorkerExit(grpc::CallbackServerContext*,
                                             const proto::ReportWorkerExitRequest*,
                                             proto::ReportWorkerExitReply*) override;
  grpc::ServerUnaryReactor* ListNodes(grpc::CallbackServerContext*, const proto::ListNodesRequest*,
                                      proto::ListNodesReply*) override;

 private:
  NodeDirectory& nodes_;
  const TokenAuth& auth_;
  const std::string cluster_id_;
  const NodeDeadCallback on_node_dead_;
  const WorkerExitCallback on_worker_exit_;
};

}  // namespace weft::head
