#include "worker/worker_service.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "client/src/runtime.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"
#include "worker/call_reactor.h"

namespace weft::worker {

grpc::ServerUnaryReactor* WorkerService::Ping(grpc::CallbackServerContext* ctx,
                                              const proto::PingRequest* req,
                                              proto::PingReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  rep->set_worker_id(identity_.worker_id);
  rep->set_node_id(identity_.node_id);
  rep->set_pid(getpid());
  rep->set_payload(req->payload());
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* WorkerService::Exit(grpc::CallbackServerContext* ctx,
                                              const proto::ExitRequest* req,
                                              proto::ExitReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  // Objects this worker stores, or owns and passed on, would be lost with it: it stays (holding
  // no resources) to serve them, and exits once the last one is freed (MaybeLeave).
  if (req->unless_owning() && Owning()) {
    retired_ = true;
    return FinishWith(ctx, absl::OkStatus());
  }
  rep->set_exiting(true);
  request_exit_(req->exit_code());
  return FinishWith(ctx, absl::OkStatus());
}

void WorkerService::MaybeLeave() {
  if (!retired_ || !internal::Runtime::Current() || Owning()) return;  // Current: not stopping
  if (leaving_.exchange(true)) return;
  spdlog::info("retired worker exiting: it stores and owns nothing others need any more");
  request_exit_(0);
}

bool WorkerService::Owning() const {
  return parts_.store.size() > 0 || internal::Runtime::Get().objects().KeepsPassedOn();
}

grpc::ServerUnaryReactor* WorkerService::GetCallEvents(grpc::CallbackServerContext* ctx,
                                                       const proto::GetCallEventsRequest*,
                                                       proto::GetCallEventsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  *rep = parts_.dispatcher.log().Events();
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* WorkerService::GetMethodStats(grpc::CallbackServerContext* ctx,
                                                        const proto::GetMethodStatsRequest*,
                                                        proto::GetMethodStatsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  *rep = parts_.dispatcher.log().MethodStats();
  return FinishWith(ctx, absl::OkStatus());
}

}  // namespace weft::worker

namespace weft::worker {
namespace {

// Bytes per FetchObject message: well under gRPC's default 4 MiB message cap.
constexpr size_t kChunkBytes = 1 << 20;

// Streams one stored object in chunks, from memory (the store's shared bytes stay alive until
// the end) or from its spill file (read a chunk at a time).
class ObjectWriter final : public grpc::ServerWriteReactor<proto::ObjectChunk> {
 public:
  explicit ObjectWriter(ObjectStore::Source source) : source_(std::move(source)) { Next(); }
  ~ObjectWriter() override {
    if (source_.fd >= 0) close(source_.fd);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    const auto size = static_cast<size_t>(source_.size);
    if (started_ && offset_ >= size) return Finish(grpc::Status::OK);
    chunk_.Clear();
    if (!started_) chunk_.set_total_bytes(source_.size);
    started_ = true;  // an empty object still gets one (empty) chunk
    const size_t n = std::min(kChunkBytes, size - offset_);
    if (source_.bytes) {
      chunk_.set_data(source_.bytes->data() + offset_, n);
    } else {
      std::string& data = *chunk_.mutable_data();
      data.resize(n);
      const ssize_t got = pread(source_.fd, data.data(), n, static_cast<off_t>(offset_));
      if (got != static_cast<ssize_t>(n)) {
        return Finish(grpc::Status(grpc::StatusCode::DATA_LOSS,
                                   absl::StrCat("spill file read failed at ", offset_, ": ",
                                                got < 0 ? strerror(errno) : "short read")));
      }
    }
    offset_ += n;
    StartWrite(&chunk_);
  }

  ObjectStore::Source source_;
  size_t offset_ = 0;
  bool started_ = false;
  proto::ObjectChunk chunk_;
};

class Refused final : public grpc::ServerWriteReactor<proto::ObjectChunk> {
 public:
  explicit Refused(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

class RefusedCalls final : public grpc::ServerBidiReactor<proto::CallBatch, proto::ResultBatch> {
 public:
  explicit RefusedCalls(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerBidiReactor<proto::ActorConstructions, proto::ActorConstructionAnswers>*
WorkerService::ConstructActors(grpc::CallbackServerContext* ctx) {
  using Constructions = WatchReactor<proto::ActorConstructions, proto::ActorConstructionAnswers>;
  return Constructions::Serve(
      auth_, ctx,
      [this](const proto::ConstructActorRequest& req,
             Constructions::Respond finish) -> Constructions::Withdraw {
        parts_.actors.Create(
            req.spec(), req.incarnation(),
            [finish = std::move(finish)](absl::StatusOr<proto::ConstructActorReply> made) {
              finish(made.status(), made.ok() ? *std::move(made) : proto::ConstructActorReply());
            });
        return nullptr;  // a constructor that started runs on: nothing to take out
      });
}

grpc::ServerUnaryReactor* WorkerService::DestroyActor(grpc::CallbackServerContext* ctx,
                                                      const proto::DestroyActorRequest* req,
                                                      proto::DestroyActorReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  return FinishWith(ctx, parts_.actors.Destroy(req->actor_id(), req->reason()));
}

grpc::ServerBidiReactor<proto::CallBatch, proto::ResultBatch>* WorkerService::Calls(
    grpc::CallbackServerContext* ctx) {
  if (!auth_.Allows(*ctx)) {
    return new RefusedCalls(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad cluster token"));
  }
  return new CallReactor(
      [&dispatcher = parts_.dispatcher](proto::Call call, CallDispatcher::Reply reply) {
        dispatcher.Dispatch(std::move(call), std::move(reply));
      },
      [&dispatcher = parts_.dispatcher](const proto::CancelCall& cancel) {
        dispatcher.Cancel(cancel);
      },
      [&dispatcher = parts_.dispatcher](const proto::StreamAck& ack) { dispatcher.Ack(ack); });
}

grpc::ServerWriteReactor<proto::ObjectChunk>* WorkerService::FetchObject(
    grpc::CallbackServerContext* ctx, const proto::FetchObjectRequest* req) {
  if (!auth_.Allows(*ctx)) {
    return new Refused(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad cluster token"));
  }
  auto source = parts_.store.Open(req->object_id());
  if (!source) {
    return new Refused(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        "object " + req->object_id() + " is not stored on worker " + identity_.worker_id));
  }
  return new ObjectWriter(*std::move(source));
}

grpc::ServerUnaryReactor* WorkerService::FreeObjects(grpc::CallbackServerContext* ctx,
                                                     const proto::FreeObjectsRequest* req,
                                                     proto::FreeObjectsReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  parts_.dispatcher.Free({req->object_ids().begin(), req->object_ids().end()});
  MaybeLeave();
  return FinishWith(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* WorkerService::GetActorStats(grpc::CallbackServerContext* ctx,
                                                       const proto::GetActorStatsRequest*,
                                                       proto::GetActorStatsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  for (auto& stats : parts_.actors.Stats()) *rep->add_actors() = std::move(stats);
  return FinishWith(ctx, absl::OkStatus());
}

}  // namespace weft::worker
