#pragma once

#include "common/auth.h"
#include "log.grpc.pb.h"
#include "raylet/node/log_publisher.h"
#include "raylet/node/worker_output.h"
#include "raylet/node/worker_pool.h"

namespace weft::node {

// gRPC adapter: DrainLogs reads what the workers' pipes hold, publishes it and answers when
// the head has acknowledged it (or the publish failed). The handler never waits itself.
// ReadLog reads a worker's log file (the pool's live workers and recent exits).
class NodeLogsService final : public proto::NodeLogs::CallbackService {
 public:
  NodeLogsService(WorkerOutputs& outputs, LogPublisher& publisher, const WorkerPool& pool,
                  const TokenAuth& auth)
      : outputs_(outputs), publisher_(publisher), pool_(pool), auth_(auth) {}

  grpc::ServerUnaryReactor* DrainLogs(grpc::CallbackServerContext*, const proto::DrainLogsRequest*,
                                      proto::DrainLogsReply*) override;
  // NOT_FOUND for a worker the node does not know (any more); INVALID_ARGUMENT for a stream
  // that is neither stdout nor stderr.
  grpc::ServerUnaryReactor* ReadLog(grpc::CallbackServerContext*, const proto::ReadLogRequest*,
                                    proto::ReadLogReply*) override;

 private:
  WorkerOutputs& outputs_;
  LogPublisher& publisher_;
  const WorkerPool& pool_;
  const TokenAuth& auth_;
};

}  // namespace weft::node
