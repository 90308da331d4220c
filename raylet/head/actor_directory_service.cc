#include "raylet/head/actor_directory_service.h"

#include <algorithm>

#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/watch_reactor.h"

namespace weft::head {
namespace {

// Longest an actor watch parks here; callers ask for 10 s (ActorCalls).
constexpr int kMaxWaitMs = 30000;

// Actors in one ListActors answer: asked for none, and at most.
constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;

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

grpc::ServerUnaryReactor* ActorDirectoryService::CreateActors(grpc::CallbackServerContext* ctx,
                                                              const proto::CreateActorsRequest* req,
                                                              proto::CreateActorsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  if (req->creations_size() > kMaxCreationsPerCall) {
    return FinishWith(
        ctx, absl::InvalidArgumentError(absl::StrCat(
                 req->creations_size(), " creations in one call; at most ", kMaxCreationsPerCall)));
  }
  for (const auto& creation : req->creations()) {
    auto created = manager_.Create(creation);
    proto::CreateActorAnswer& answer = *rep->add_answers();
    answer.set_code(static_cast<int>(created.status().code()));
    answer.set_message(std::string(created.status().message()));
    if (created.ok()) *answer.mutable_actor() = *std::move(created);
  }
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerBidiReactor<proto::ActorWatches, proto::ActorWatchAnswers>*
ActorDirectoryService::WatchActors(grpc::CallbackServerContext* ctx) {
  using Watches = WatchReactor<proto::ActorWatches, proto::ActorWatchAnswers>;
  return Watches::Serve(
      auth_, ctx,
      [this](const proto::WaitActorRequest& req, Watches::Respond finish) -> Watches::Withdraw {
        // 0 or less is a look at the actor as it is (answered at once); more than the bound gets
        // the bound rather than an error: the caller is answered as when any wait runs out, with
        // the state it knew, and asks again if it still cares.
        const int wait_ms = std::clamp(req.wait_ms(), 0, kMaxWaitMs);
        const uint64_t ticket =
            manager_.Wait(req.actor_id(), req.known_state(), std::chrono::milliseconds(wait_ms),
                          [finish = std::move(finish)](absl::StatusOr<proto::ActorInfo> info) {
                            proto::WaitActorReply reply;
                            if (info.ok()) *reply.mutable_actor() = *std::move(info);
                            finish(info.status(), std::move(reply));
                          });
        if (ticket == 0) return nullptr;  // answered
        return [this, actor_id = req.actor_id(), ticket] { manager_.CancelWait(actor_id, ticket); };
      },
      &watches_);
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
