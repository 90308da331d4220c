#include "raylet/head/actor_directory_service.h"

#include <algorithm>

#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace weft::head {
namespace {

// Longest a WaitActor call parks here; callers ask for 10 s (ActorCalls).
constexpr int kMaxWaitMs = 30000;

// Actors in one ListActors answer: asked for none, and at most.
constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;

// One WaitActor call, parked in the manager until the actor changes or its wait runs out.
// A caller that goes away (deadline, disconnect) takes its wait out at once (OnCancel), not
// when the actor changes or the wait expires. Finish runs once: by the answer, or by OnCancel
// when it took the wait out before any answer did.
class WaitActorReactor final : public grpc::ServerUnaryReactor {
 public:
  WaitActorReactor(ActorManager& manager, std::string actor_id)
      : manager_(manager), actor_id_(std::move(actor_id)) {}

  // Parks the wait (or answers now). Call once, before the handler returns the reactor.
  void Wait(proto::ActorState known, std::chrono::milliseconds wait, proto::WaitActorReply* rep) {
    ticket_ =
        manager_.Wait(actor_id_, known, wait, [this, rep](absl::StatusOr<proto::ActorInfo> info) {
          if (info.ok()) *rep->mutable_actor() = *std::move(info);
          Finish(ToGrpcStatus(info.status()));
        });
  }

  void OnCancel() override {
    if (ticket_ != 0 && manager_.CancelWait(actor_id_, ticket_)) Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  ActorManager& manager_;
  const std::string actor_id_;
  uint64_t ticket_ = 0;
};

}  // namespace

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
                                                            const proto::ListActorsRequest* req,
                                                            proto::ListActorsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  // A page, not every actor: 100,000 of them would be one message of tens of MiB, built
  // under the directory's lock.
  const int asked = req->page_size();
  const size_t page_size = asked <= 0 ? kDefaultPageSize : std::min(asked, kMaxPageSize);
  bool more = false;
  for (auto& actor : actors_.ListPage(req->page_token(), page_size, &more)) {
    *rep->add_actors() = std::move(actor);
  }
  if (more && rep->actors_size() > 0) {
    rep->set_next_page_token(rep->actors(rep->actors_size() - 1).actor_id());
  }
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
  auto* reactor = new WaitActorReactor(manager_, req->actor_id());
  // 0 or less is a look at the actor as it is (answered at once); more than the bound gets
  // the bound rather than an error: the caller is answered as when any wait runs out, with
  // the state it knew, and asks again if it still cares.
  const int wait_ms = std::clamp(req->wait_ms(), 0, kMaxWaitMs);
  reactor->Wait(req->known_state(), std::chrono::milliseconds(wait_ms), rep);
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
