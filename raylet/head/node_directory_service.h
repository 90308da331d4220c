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
  // What the rest of the head learns from the nodes. Each runs on the handler's thread.
  struct Hooks {
    std::function<void(const std::string& node_id)> on_node_dead;
    std::function<void(const proto::WorkerInfo& worker)> on_worker_exit;
    std::function<void()> on_resources_changed;  // a node joined or reported its resources
    std::function<void(proto::ListNodesReply&)> describe_queue;  // the scheduler's queue
    // A node taken over from a dead head reported for the first time: its workers were
    // leased by that head.
    std::function<void(const proto::NodeInfo& node)> on_node_back;
  };
  NodeDirectoryService(NodeDirectory& nodes, const TokenAuth& auth, std::string cluster_id,
                       Hooks hooks)
      : nodes_(nodes), auth_(auth), cluster_id_(std::move(cluster_id)), hooks_(std::move(hooks)) {}

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
  const Hooks hooks_;
};

}  // namespace weft::head
