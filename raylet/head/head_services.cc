#include "raylet/head/head_services.h"

#include "common/logging.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"
#include "raylet/head/placement.h"

namespace weft::head {

// ---- NodeDirectoryService ----

Reactor* NodeDirectoryService::RegisterNode(CallbackCtx* ctx, const proto::RegisterNodeRequest* req,
                                            proto::RegisterNodeReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  rep->set_heartbeat_period_ms(absl::ToInt64Milliseconds(nodes_.options().heartbeat_period));
  return FinishWith(ctx, nodes_.Register(req->node()));
}

Reactor* NodeDirectoryService::Heartbeat(CallbackCtx* ctx, const proto::HeartbeatRequest* req,
                                         proto::HeartbeatReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, nodes_.Heartbeat(req->node_id(), req->available(), req->num_workers()));
}

Reactor* NodeDirectoryService::UnregisterNode(CallbackCtx* ctx,
                                              const proto::UnregisterNodeRequest* req,
                                              proto::UnregisterNodeReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const auto status = nodes_.Unregister(req->node_id(), req->reason());
  if (status.ok()) on_node_dead_(req->node_id());
  return FinishWith(ctx, status);
}

Reactor* NodeDirectoryService::ReportWorkerExit(CallbackCtx* ctx,
                                                const proto::ReportWorkerExitRequest* req,
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
  return FinishWith(ctx, absl::OkStatus());
}

Reactor* NodeDirectoryService::ListNodes(CallbackCtx* ctx, const proto::ListNodesRequest*,
                                         proto::ListNodesReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& node : nodes_.List()) *rep->add_nodes() = std::move(node);
  rep->set_cluster_id(cluster_id_);
  return FinishWith(ctx, absl::OkStatus());
}

// ---- JobRegistryService ----

Reactor* JobRegistryService::RegisterJob(CallbackCtx* ctx, const proto::RegisterJobRequest* req,
                                         proto::RegisterJobReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  *rep->mutable_job() = jobs_.Register(*req);
  return FinishWith(ctx, absl::OkStatus());
}

Reactor* JobRegistryService::FinishJob(CallbackCtx* ctx, const proto::FinishJobRequest* req,
                                       proto::FinishJobReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, jobs_.Finish(req->job_id()));
}

Reactor* JobRegistryService::ListJobs(CallbackCtx* ctx, const proto::ListJobsRequest*,
                                      proto::ListJobsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& job : jobs_.List()) *rep->add_jobs() = std::move(job);
  return FinishWith(ctx, absl::OkStatus());
}

// ---- ActorDirectoryService ----

Reactor* ActorDirectoryService::RegisterActor(CallbackCtx* ctx,
                                              const proto::RegisterActorRequest* req,
                                              proto::RegisterActorReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto actor = actors_.Register(req->actor());
  if (actor.ok()) *rep->mutable_actor() = *std::move(actor);
  return FinishWith(ctx, actor.status());
}

Reactor* ActorDirectoryService::UpdateActor(CallbackCtx* ctx, const proto::UpdateActorRequest* req,
                                            proto::UpdateActorReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, actors_.Update(req->actor()));
}

Reactor* ActorDirectoryService::GetActor(CallbackCtx* ctx, const proto::GetActorRequest* req,
                                         proto::GetActorReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto actor = req->actor_id().empty() ? actors_.GetByName(req->namespace_(), req->name())
                                       : actors_.Get(req->actor_id());
  if (actor.ok()) *rep->mutable_actor() = *std::move(actor);
  return FinishWith(ctx, actor.status());
}

Reactor* ActorDirectoryService::ListActors(CallbackCtx* ctx, const proto::ListActorsRequest*,
                                           proto::ListActorsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& actor : actors_.List()) *rep->add_actors() = std::move(actor);
  return FinishWith(ctx, absl::OkStatus());
}

// ---- ObjectDirectoryService ----

Reactor* ObjectDirectoryService::AddObjectLocation(CallbackCtx* ctx,
                                                   const proto::AddObjectLocationRequest* req,
                                                   proto::AddObjectLocationReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, objects_.Add(req->object_id(), req->location()));
}

Reactor* ObjectDirectoryService::RemoveObjectLocation(CallbackCtx* ctx,
                                                      const proto::RemoveObjectLocationRequest* req,
                                                      proto::RemoveObjectLocationReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  objects_.Remove(req->object_id(), req->worker_id());
  return FinishWith(ctx, absl::OkStatus());
}

Reactor* ObjectDirectoryService::GetObjectLocations(CallbackCtx* ctx,
                                                    const proto::GetObjectLocationsRequest* req,
                                                    proto::GetObjectLocationsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& location : objects_.Locations(req->object_id())) {
    *rep->add_locations() = std::move(location);
  }
  return FinishWith(ctx, absl::OkStatus());
}

// ---- SchedulerService ----

Reactor* SchedulerService::LeaseWorker(CallbackCtx* ctx, const proto::LeaseWorkerRequest* req,
                                       proto::LeaseWorkerReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  const ResourceMap required(req->required().begin(), req->required().end());
  auto node = PickNode(nodes_.ListAlive(), required);
  if (!node.ok()) return FinishWith(ctx, node.status());
  nodes_.Reserve(node->node_id(), required);

  // The node call outlives this handler: its state lives until the node answers.
  struct Call {
    grpc::ClientContext context;
    proto::SpawnWorkerRequest request;
    proto::SpawnWorkerReply reply;
  };
  auto call = std::make_shared<Call>();
  SetTimeout(call->context, kControlRpcTimeout * 6);
  call->request.set_job_id(req->job_id());
  *call->request.mutable_required() = req->required();
  auto* reactor = ctx->DefaultReactor();
  rep->set_node_address(node->address());
  NodeStub(node->address())
      .async()
      ->SpawnWorker(&call->context, &call->request, &call->reply,
                    [call, reactor, rep, node_id = node->node_id()](grpc::Status status) {
                      if (status.ok()) {
                        *rep->mutable_worker() = call->reply.worker();
                      } else {
                        status =
                            grpc::Status(status.error_code(), absl::StrCat("node ", node_id,
                                                                           " could not start a "
                                                                           "worker: ",
                                                                           status.error_message()));
                      }
                      reactor->Finish(status);
                    });
  return reactor;
}

proto::NodeManager::Stub& SchedulerService::NodeStub(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& stub = stubs_[address];
  if (!stub) stub = proto::NodeManager::NewStub(MakeChannel(address, token_));
  return *stub;
}

}  // namespace weft::head
