#pragma once

#include <functional>

#include "common/auth.h"
#include "node.grpc.pb.h"
#include "raylet/node/worker_pool.h"

namespace weft::node {

// gRPC adapter of a node's worker pool. SpawnWorker replies when the worker is ready,
// from whichever thread learns it; no handler blocks.
class NodeManagerService final : public proto::NodeManager::CallbackService {
 public:
  using NodeInfoFn = std::function<proto::NodeInfo()>;
  NodeManagerService(WorkerPool& pool, const TokenAuth& auth, NodeInfoFn node_info)
      : pool_(pool), auth_(auth), node_info_(std::move(node_info)) {}

  grpc::ServerUnaryReactor* SpawnWorker(grpc::CallbackServerContext*,
                                        const proto::SpawnWorkerRequest*,
                                        proto::SpawnWorkerReply*) override;
  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext*,
                                           const proto::RegisterWorkerRequest*,
                                           proto::RegisterWorkerReply*) override;
  grpc::ServerUnaryReactor* KillWorker(grpc::CallbackServerContext*,
                                       const proto::KillWorkerRequest*,
                                       proto::KillWorkerReply*) override;
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext*,
                                        const proto::ListWorkersRequest*,
                                        proto::ListWorkersReply*) override;
  grpc::ServerUnaryReactor* GetNodeInfo(grpc::CallbackServerContext*,
                                        const proto::GetNodeInfoRequest*,
                                        proto::GetNodeInfoReply*) override;
  grpc::ServerUnaryReactor* NotifyWorkerBlocked(grpc::CallbackServerContext*,
                                                const proto::NotifyWorkerBlockedRequest*,
                                                proto::NotifyWorkerBlockedReply*) override;

 private:
  WorkerPool& pool_;
  const TokenAuth& auth_;
  const NodeInfoFn node_info_;
};

}  // namespace weft::node
