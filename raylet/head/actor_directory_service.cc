#include "raylet/head/actor_directory_service.h"

#include <algorithm>

#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::head {

grpc::ServerUnaryReactor* ActorDirectoryService::RegisterActor(
    grpc::CallbackServerContext* ctx, const proto::RegisterActorRequest* req,
    proto::RegisterActorReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto actor = actors_.Register(req->actor());
  if (actor.ok()) *rep->mutable_actor() = *std::move(actor);
  return FinishWith(ctx, actor.status());
}

grpc::ServerUnaryReactor* ActorDirectoryService::UpdateActor(grpc::CallbackServerContext* ctx,
                                                             const proto::UpdateActorRequest* req,
                                                             proto::UpdateActorReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, actors_.Update(req->actor()));
}

grpc::ServerUnaryReactor* ActorDirectoryService::GetActor(grpc::CallbackServerContext* ctx,
                                                          const proto::GetActorRequest* req,
                                                          proto::GetActorReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (req->actor_id().empty() && req->name().empty()) {
    return FinishWith(ctx, absl::InvalidArgumentError("GetActor needs an actor_id or a name"));
  }
  auto actor = req->actor_id().empty() ? actors_.GetByName(req->namespace_(), req->name())
                                       : actors_.Get(req->actor_id());
  if (actor.ok()) *rep->mutable_actor() = *std::move(actor);
  return FinishWith(ctx, actor.status());
}

grpc::ServerUnaryReactor* ActorDirectoryService::ListActors(grpc::CallbackServerContext* ctx,
                                                            const proto::ListActorsRequest*,
                                                            proto::ListActorsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& actor : actors_.List()) *rep->add_actors() = std::move(actor);
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ActorDirectoryService::CreateActor(grpc::CallbackServerContext* ctx,
                                                             const proto::CreateActorRequest* req,
                                                             proto::CreateActorReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto created = manager_.Create(*req);
  if (created.ok()) *rep->mutable_actor() = *std::move(created);
  return FinishWith(ctx, created.status());
}

grpc::ServerUnaryReactor* ActorDirectoryService::WaitActor(grpc::CallbackServerContext* ctx,
                                                           const proto::WaitActorRequest* req,
                                                           proto::WaitActorReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto* reactor = ctx->DefaultReactor();
  const int wait_ms = std::clamp(req->wait_ms(), 0, 30000);
  manager_.Wait(req->actor_id(), req->known_state(), std::chrono::milliseconds(wait_ms),
                [reactor, rep](absl::StatusOr<proto::ActorInfo> info) {
                  if (info.ok()) *rep->mutable_actor() = *std::move(info);
                  reactor->Finish(ToGrpcStatus(info.status()));
                });
  return reactor;
}

grpc::ServerUnaryReactor* ActorDirectoryService::KillActor(grpc::CallbackServerContext* ctx,
                                                           const proto::KillActorRequest* req,
                                                           proto::KillActorReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  auto killed = manager_.Kill(req->actor_id(), req->reason(), req->restart());
  if (killed.ok()) *rep->mutable_actor() = *std::move(killed);
  return FinishWith(ctx, killed.status());
}

}  // namespace weft::head
