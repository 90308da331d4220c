#pragma once

// Thin gRPC adapters over the head's tables: each handler checks the cluster token,
// converts the request, calls one method of a plain class and finishes. No handler blocks.

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "raylet/head/actor_directory.h"
#include "raylet/head/job_registry.h"
#include "raylet/head/node_directory.h"
#include "raylet/head/object_directory.h"

namespace weft::head {

using CallbackCtx = grpc::CallbackServerContext;
using Reactor = grpc::ServerUnaryReactor;

class NodeDirectoryService final : public proto::NodeDirectory::CallbackService {
 public:
  using NodeDeadCallback = std::function<void(const std::string& node_id)>;
  NodeDirectoryService(NodeDirectory& nodes, const TokenAuth& auth, std::string cluster_id,
                       NodeDeadCallback on_node_dead)
      : nodes_(nodes),
        auth_(auth),
        cluster_id_(std::move(cluster_id)),
        on_node_dead_(std::move(on_node_dead)) {}

  Reactor* RegisterNode(CallbackCtx*, const proto::RegisterNodeRequest*,
                        proto::RegisterNodeReply*) override;
  Reactor* Heartbeat(CallbackCtx*, const proto::HeartbeatRequest*, proto::HeartbeatReply*) override;
  Reactor* UnregisterNode(CallbackCtx*, const proto::UnregisterNodeRequest*,
                          proto::UnregisterNodeReply*) override;
  Reactor* ReportWorkerExit(CallbackCtx*, const proto::ReportWorkerExitRequest*,
                            proto::ReportWorkerExitReply*) override;
  Reactor* ListNodes(CallbackCtx*, const proto::ListNodesRequest*, proto::ListNodesReply*) override;

 private:
  NodeDirectory& nodes_;
  const TokenAuth& auth_;
  const std::string cluster_id_;
  const NodeDeadCallback on_node_dead_;
};

class JobRegistryService final : public proto::JobRegistry::CallbackService {
 public:
  JobRegistryService(JobRegistry& jobs, const TokenAuth& auth) : jobs_(jobs), auth_(auth) {}

  Reactor* RegisterJob(CallbackCtx*, const proto::RegisterJobRequest*,
                       proto::RegisterJobReply*) override;
  Reactor* FinishJob(CallbackCtx*, const proto::FinishJobRequest*, proto::FinishJobReply*) override;
  Reactor* ListJobs(CallbackCtx*, const proto::ListJobsRequest*, proto::ListJobsReply*) override;

 private:
  JobRegistry& jobs_;
  const TokenAuth& auth_;
};

class ActorDirectoryService final : public proto::ActorDirectory::CallbackService {
 public:
  ActorDirectoryService(ActorDirectory& actors, const TokenAuth& auth)
      : actors_(actors), auth_(auth) {}

  Reactor* RegisterActor(CallbackCtx*, const proto::RegisterActorRequest*,
                         proto::RegisterActorReply*) override;
  Reactor* UpdateActor(CallbackCtx*, const proto::UpdateActorRequest*,
                       proto::UpdateActorReply*) override;
  Reactor* GetActor(CallbackCtx*, const proto::GetActorRequest*, proto::GetActorReply*) override;
  Reactor* ListActors(CallbackCtx*, const proto::ListActorsRequest*,
                      proto::ListActorsReply*) override;

 private:
  ActorDirectory& actors_;
  const TokenAuth& auth_;
};

class ObjectDirectoryService final : public proto::ObjectDirectory::CallbackService {
 public:
  ObjectDirectoryService(ObjectDirectory& objects, const TokenAuth& auth)
      : objects_(objects), auth_(auth) {}

  Reactor* AddObjectLocation(CallbackCtx*, const proto::AddObjectLocationRequest*,
                             proto::AddObjectLocationReply*) override;
  Reactor* RemoveObjectLocation(CallbackCtx*, const proto::RemoveObjectLocationRequest*,
                                proto::RemoveObjectLocationReply*) override;
  Reactor* GetObjectLocations(CallbackCtx*, const proto::GetObjectLocationsRequest*,
                              proto::GetObjectLocationsReply*) override;

 private:
  ObjectDirectory& objects_;
  const TokenAuth& auth_;
};

// Leases a worker: picks a node (placement.h) and has its raylet spawn the worker. The reply
// is sent from the node's answer; no gRPC thread waits for it.
class SchedulerService final : public proto::Scheduler::CallbackService {
 public:
  SchedulerService(NodeDirectory& nodes, const TokenAuth& auth, std::string token)
      : nodes_(nodes), auth_(auth), token_(std::move(token)) {}

  Reactor* LeaseWorker(CallbackCtx*, const proto::LeaseWorkerRequest*,
                       proto::LeaseWorkerReply*) override;

 private:
  proto::NodeManager::Stub& NodeStub(const std::string& address);

  NodeDirectory& nodes_;
  const TokenAuth& auth_;
  const std::string token_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<proto::NodeManager::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
