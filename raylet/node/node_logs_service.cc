#include "raylet/node/node_logs_service.h"

#include "common/status.h"

namespace weft::node {

grpc::ServerUnaryReactor* NodeLogsService::DrainLogs(grpc::CallbackServerContext* ctx,
                                                     const proto::DrainLogsRequest*,
                                                     proto::DrainLogsReply* rep) {
  if (auto* r = auth_.Reject(ctx)) return r;
  outputs_.DrainNow();  // non-blocking reads
  auto* reactor = ctx->DefaultReactor();
  publisher_.Flush([this, reactor, rep](absl::Status status) {
    rep->set_lines_published(publisher_.published());
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace weft::node
