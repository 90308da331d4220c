#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "log.grpc.pb.h"
#include "raylet/head/log_broker.h"
#include "raylet/head/node_directory.h"

namespace weft::head {

// gRPC adapter of the LogBroker. SubscribeLogs streams a job's lines from whichever thread
// publishes them; FlushLogs asks every alive node to drain its workers' pipes (each call
// bounded by the caller's deadline and kControlRpcTimeout) and answers once all have replied
// or failed. No handler blocks.
class LogBrokerService final : public proto::LogBroker::CallbackService {
 public:
  LogBrokerService(LogBroker& broker, NodeDirectory& nodes, const TokenAuth& auth,
                   std::string token)
      : broker_(broker), nodes_(nodes), auth_(auth), token_(std::move(token)) {}

  grpc::ServerUnaryReactor* PublishLogs(grpc::CallbackServerContext*,
                                        const proto::PublishLogsRequest*,
                                        proto::PublishLogsReply*) override;
  grpc::ServerWriteReactor<proto::LogBatch>* SubscribeLogs(
      grpc::CallbackServerContext*, const proto::SubscribeLogsRequest*) override;
  grpc::ServerUnaryReactor* FlushLogs(grpc::CallbackServerContext*, const proto::FlushLogsRequest*,
                                      proto::FlushLogsReply*) override;

 private:
  class SubscribeReactor;
  proto::NodeLogs::Stub& NodeStub(const std::string& address);

  LogBroker& broker_;
  NodeDirectory& nodes_;
  const TokenAuth& auth_;
  const std::string token_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<proto::NodeLogs::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
