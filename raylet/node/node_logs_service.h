#pragma once

#include <optional>
#include <string>

#include "common/auth.h"
#include "log.grpc.pb.h"
#include "raylet/node/call_archive.h"
#include "raylet/node/log_publisher.h"
#include "raylet/node/worker_output.h"
#include "raylet/node/worker_pool.h"

namespace weft::node {

// gRPC adapter: DrainLogs reads what the workers' pipes hold, publishes it and answers when
// the head has acknowledged it (or the publish failed). The handler never waits itself.
// ReadLog reads a worker's log file (the pool's live workers and recent exits). A leaving
// worker's call log goes to the archive (KeepCallLog), read back by ListExitedCalls.
class NodeLogsService final : public proto::NodeLogs::CallbackService {
 public:
  NodeLogsService(WorkerOutputs& outputs, LogPublisher& publisher, const WorkerPool& pool,
                  CallArchive& archive, const TokenAuth& auth)
      : outputs_(outputs), publisher_(publisher), pool_(pool), archive_(archive), auth_(auth) {}

  grpc::ServerUnaryReactor* DrainLogs(grpc::CallbackServerContext*, const proto::DrainLogsRequest*,
                                      proto::DrainLogsReply*) override;
  // NOT_FOUND for a worker the node does not know (any more); INVALID_ARGUMENT for a stream
  // that is neither stdout nor stderr.
  grpc::ServerUnaryReactor* ReadLog(grpc::CallbackServerContext*, const proto::ReadLogRequest*,
                                    proto::ReadLogReply*) override;
  // NOT_FOUND for a worker the node does not know (any more).
  grpc::ServerUnaryReactor* KeepCallLog(grpc::CallbackServerContext*,
                                        const proto::KeepCallLogRequest*,
                                        proto::KeepCallLogReply*) override;
  grpc::ServerUnaryReactor* ListExitedCalls(grpc::CallbackServerContext*,
                                            const proto::ListExitedCallsRequest*,
                                            proto::ListExitedCallsReply*) override;

 private:
  // The worker's record as the pool has it (live or recently exited), if it does.
  std::optional<proto::WorkerInfo> FindWorker(const std::string& worker_id) const;

  WorkerOutputs& outputs_;
  LogPublisher& publisher_;
  const WorkerPool& pool_;
  CallArchive& archive_;
  const TokenAuth& auth_;
};

}  // namespace weft::node
