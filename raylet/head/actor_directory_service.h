#pragma once

#include "common/auth.h"
#include "head.grpc.pb.h"
#include "raylet/head/actor_directory.h"

namespace weft::head {

// gRPC adapter: checks the token, calls one method of the table, finishes. Never blocks.
class ActorDirectoryService final : public proto::ActorDirectory::CallbackService {
 public:
  ActorDirectoryService(ActorDirectory& actors, const TokenAuth& auth)
      : actors_(actors), auth_(auth) {}

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

 private:
  ActorDirectory& actors_;
  const TokenAuth& auth_;
};

}  // namespace weft::head
