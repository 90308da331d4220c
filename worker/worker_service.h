#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "common/auth.h"
#include "common/watch_reactor.h"
#include "worker.grpc.pb.h"
#include "worker/actor_host.h"
#include "worker/call_dispatcher.h"
#include "worker/object_store.h"

namespace weft::worker {

// The worker's gRPC service, called directly by drivers, other workers and the head. A thin
// adapter over the actor host, the call dispatcher and the object store.
class WorkerService final : public proto::Worker::CallbackService {
 public:
  struct Identity {
    std::string worker_id;
    std::string node_id;
  };
  struct Parts {
    ActorHost& actors;
    CallDispatcher& dispatcher;
    ObjectStore& store;
  };
  using ExitFn = std::function<void(int exit_code)>;

  WorkerService(Identity identity, const TokenAuth& auth, Parts parts, ExitFn request_exit)
      : identity_(std::move(identity)),
        auth_(auth),
        parts_(parts),
        request_exit_(std::move(request_exit)) {}

  // A worker asked to leave while it owned objects (Exit unless_owning) leaves once it owns
  // none: call whenever that may have changed.
  void MaybeLeave();

  // Echoes the payload with the worker's identity and pid.
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext*, const proto::PingRequest*,
                                 proto::PingReply*) override;
  // Replies, then makes the process exit with the requested code.
  grpc::ServerUnaryReactor* Exit(grpc::CallbackServerContext*, const proto::ExitRequest*,
                                 proto::ExitReply*) override;
  // Answers each construction once the actor's constructor has run on its executor.
  grpc::ServerBidiReactor<proto::ActorConstructions, proto::ActorConstructionAnswers>*
  ConstructActors(grpc::CallbackServerContext*) override;
  grpc::ServerUnaryReactor* DestroyActor(grpc::CallbackServerContext*,
                                         const proto::DestroyActorRequest*,
                                         proto::DestroyActorReply*) override;
  grpc::ServerBidiReactor<proto::CallBatch, proto::ResultBatch>* Calls(
      grpc::CallbackServerContext*) override;
  grpc::ServerWriteReactor<proto::ObjectChunk>* FetchObject(
      grpc::CallbackServerContext*, const proto::FetchObjectRequest*) override;
  grpc::ServerUnaryReactor* FreeObjects(grpc::CallbackServerContext*,
                                        const proto::FreeObjectsRequest*,
                                        proto::FreeObjectsReply*) override;
  grpc::ServerUnaryReactor* GetActorStats(grpc::CallbackServerContext*,
                                          const proto::GetActorStatsRequest*,
                                          proto::GetActorStatsReply*) override;
  grpc::ServerUnaryReactor* GetCallEvents(grpc::CallbackServerContext*,
                                          const proto::GetCallEventsRequest*,
                                          proto::GetCallEventsReply*) override;
  grpc::ServerUnaryReactor* GetMethodStats(grpc::CallbackServerContext*,
                                           const proto::GetMethodStatsRequest*,
                                           proto::GetMethodStatsReply*) override;

 private:
  // Stores objects, or owns objects it passed on: its leaving would lose them.
  bool Owning() const;

  const Identity identity_;
  const TokenAuth& auth_;
  const Parts parts_;
  const ExitFn request_exit_;
  // Asked to leave (its lease went back) while owning: it leaves when it owns nothing more.
  std::atomic<bool> retired_{false};
  std::atomic<bool> leaving_{false};
};

}  // namespace weft::worker
