#pragma once

#include "common/auth.h"
#include "common/watch_reactor.h"
#include "head.grpc.pb.h"
#include "raylet/head/actor_directory.h"
#include "raylet/head/actor_manager.h"

namespace weft::head {

// gRPC adapter: checks the token, calls one method of the table, finishes. Never blocks.
class ActorDirectoryService final : public proto::ActorDirectory::CallbackService {
 public:
  ActorDirectoryService(ActorDirectory& actors, ActorManager& manager, const TokenAuth& auth)
      : actors_(actors), manager_(manager), auth_(auth) {}

  grpc::ServerUnaryReactor* RegisterActor(grpc::CallbackServerContext*,
                                          const proto::RegisterActorRequest*,
                                          proto::RegisterActorReply*) override;
  grpc::ServerUnaryReactor* UpdateActor(grpc::CallbackServerContext*,
                                        const proto::UpdateActorRequest*,
                                        proto::UpdateActorReply*) override;
  grpc::ServerUnaryReactor* GetActor(grpc::CallbackServerContext*, const proto::GetActorRequest*,
                                     proto::GetActorReply*) override;
  grpc::ServerUnaryReactor* ListActors(grpc::CallbackServerContext*,
                                       const proto::ListActorsRequest*,
                                       proto::ListActorsReply*) override;
  grpc::ServerUnaryReactor* CreateActor(grpc::CallbackServerContext*,
                                        const proto::CreateActorRequest*,
                                        proto::CreateActorReply*) override;
  grpc::ServerUnaryReactor* CreateActors(grpc::CallbackServerContext*,
                                         const proto::CreateActorsRequest*,
                                         proto::CreateActorsReply*) override;
  // Each watch answers when its actor's state changes, or after its wait_ms (capped at 30 s; 0
  // or less: at once). A watch cancelled, or a caller that goes away, leaves no wait parked.
  grpc::ServerBidiReactor<proto::ActorWatches, proto::ActorWatchAnswers>* WatchActors(
      grpc::CallbackServerContext*) override;
  // Ends the streams of watches (UNAVAILABLE with `why`) once their queued answers are written,
  // and refuses new ones: the server is stopping.
  void CloseWatches(const std::string& why) { watches_.CloseAll(why); }
  grpc::ServerUnaryReactor* KillActor(grpc::CallbackServerContext*, const proto::KillActorRequest*,
                                      proto::KillActorReply*) override;

 private:
  ActorDirectory& actors_;
  ActorManager& manager_;
  const TokenAuth& auth_;
  WatchStreamsServed watches_;
};

}  // namespace weft::head
