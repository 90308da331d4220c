#pragma once

#include "common/auth.h"
#include "log.grpc.pb.h"
#include "raylet/node/log_publisher.h"
#include "raylet/node/worker_output.h"

namespace weft::node {

// gRPC adapter: DrainLogs reads what the workers' pipes hold, publishes it and answers when
// the head has acknowledged it (or the publish failed). The handler never waits itself.
class NodeLogsService final : public proto::NodeLogs::CallbackService {
 public:
  NodeLogsService(WorkerOutputs& outputs, LogPublisher& publisher, const TokenAuth& auth)
      : outputs_(outputs), publisher_(publisher), auth_(auth) {}

  grpc::ServerUnaryReactor* DrainLogs(grpc::CallbackServerContext*, const proto::DrainLogsRequest*,
                                      proto::DrainLogsReply*) override;

 private:
  WorkerOutputs& outputs_;
  LogPublisher& publisher_;
  const TokenAuth& auth_;
};

}  // namespace weft::node
