#include "worker/worker_service.h"

#include <unistd.h>

#include "common/rpc.h"

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
                                              const proto::ExitRequest* req, proto::ExitReply*) {
  if (auto* r = auth_.Reject(ctx)) return r;
  request_exit_(req->exit_code());
  return FinishWith(ctx, absl::OkStatus());
}

}  // namespace weft::worker
