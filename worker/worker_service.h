#pragma once

#include <functional>
#include <string>

#include "common/auth.h"
#include "worker.grpc.pb.h"

namespace weft::worker {

// The worker's own gRPC service, called directly by drivers and other workers.
class WorkerService final : public proto::Worker::CallbackService {
 public:
  struct Identity {
    std::string worker_id;
    std::string node_id;
  };
  using ExitFn = std::function<void(int exit_code)>;

  WorkerService(Identity identity, const TokenAuth& auth, ExitFn request_exit)
      : identity_(std::move(identity)), auth_(auth), request_exit_(std::move(request_exit)) {}

  // Echoes the payload with the worker's identity and pid.
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext*, const proto::PingRequest*,
                                 proto::PingReply*) override;
  // Replies, then makes the process exit with the requested code.
  grpc::ServerUnaryReactor* Exit(grpc::CallbackServerContext*, const proto::ExitRequest*,
                                 proto::ExitReply*) override;

 private:
  const Identity identity_;
  const TokenAuth& auth_;
  const ExitFn request_exit_;
};

}  // namespace weft::worker
