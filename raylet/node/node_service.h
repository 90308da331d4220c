#pragma once

#include <functional>
#include <memory>

#include "absl/synchronization/mutex.h"

#include "common/auth.h"
#include "node.grpc.pb.h"
#include "raylet/node/call_archive.h"
#include "raylet/node/code_cache.h"
#include "raylet/node/worker_pool.h"

namespace weft::node {

// gRPC adapter of a node's worker pool. SpawnWorker replies when the worker is ready,
// from whichever thread learns it; no handler blocks.
class NodeManagerService final : public proto::NodeManager::CallbackService {
 public:
  using NodeInfoFn = std::function<proto::NodeInfo()>;
  using ServeForFn = std::function<absl::Duration()>;  // see Node::ServeFor
  // Submitted jobs' drivers are staged under `jobs_dir` (see driver_stage.h).
  NodeManagerService(WorkerPool& pool, CodeCache& code, const TokenAuth& auth, std::string token,
                     NodeInfoFn node_info, ServeForFn serve_for = nullptr,
                     std::string jobs_dir = "", CallArchive* archive = nullptr)
      : pool_(pool),
        code_(code),
        jobs_dir_(std::move(jobs_dir)),
        auth_(auth),
        token_(std::move(token)),
        node_info_(std::move(node_info)),
        serve_for_(std::move(serve_for)),
        retiring_(std::make_shared<Retiring>(&pool, archive)) {}
  ~NodeManagerService();

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
  grpc::ServerUnaryReactor* CheckNode(grpc::CallbackServerContext*, const proto::CheckNodeRequest*,
                                      proto::CheckNodeReply*) override;
  grpc::ServerUnaryReactor* ProvideCode(grpc::CallbackServerContext*,
                                        const proto::ProvideCodeRequest*,
                                        proto::ProvideCodeReply*) override;

 private:
  // Frees a worker's resources and asks it to exit unless it owns referenced objects.
  absl::Status Retire(const std::string& worker_id);
  // SIGKILL leaves a worker no time to hand over its call log: it is asked for it first
  // (briefly: a worker that does not answer is killed all the same), then killed.
  grpc::ServerUnaryReactor* KillAfterCallLog(grpc::CallbackServerContext* ctx,
                                             const proto::WorkerInfo& worker);

  // SpawnWorker with `driver`: stages the job's files, then starts its driver.
  grpc::ServerUnaryReactor* StartDriver(grpc::CallbackServerContext* ctx,
                                        const proto::SpawnWorkerRequest& request,
                                        proto::SpawnWorkerReply* reply);

  WorkerPool& pool_;
  CodeCache& code_;
  const std::string jobs_dir_;
  const TokenAuth& auth_;
  const std::string token_;  // for calls to this node's workers
  int64_t ServeForMs() const;

  const NodeInfoFn node_info_;
  const ServeForFn serve_for_;  // unset: workers are never told to stop

  // What a retirement's answer may still reach: the pool, until this service (and its node)
  // is gone; a node retired after a fence does not wait for its workers' answers.
  struct Retiring {
    Retiring(WorkerPool* p, CallArchive* a) : archive(a), pool(p) {}
    absl::Mutex mu;
    CallArchive* archive ABSL_GUARDED_BY(mu);  // where a killed worker's call log goes
    WorkerPool* pool ABSL_GUARDED_BY(mu);
  };
  const std::shared_ptr<Retiring> retiring_;
};

}  // namespace weft::node
