#pragma once

#include "common/auth.h"
#include "head.grpc.pb.h"
#include "raylet/head/job_registry.h"

namespace weft::head {

// gRPC adapter: checks the token, calls one method of the table, finishes. Never blocks.
class JobRegistryService final : public proto::JobRegistry::CallbackService {
 public:
  JobRegistryService(JobRegistry& jobs, const TokenAuth& auth) : jobs_(jobs), auth_(auth) {}

  grpc::ServerUnaryReactor* RegisterJob(grpc::CallbackServerContext*,
                                        const proto::RegisterJobRequest*,
                                        proto::RegisterJobReply*) override;
  grpc::ServerUnaryReactor* FinishJob(grpc::CallbackServerContext*, const proto::FinishJobRequest*,
                                      proto::FinishJobReply*) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext*, const proto::ListJobsRequest*,
                                     proto::ListJobsReply*) override;

 private:
  JobRegistry& jobs_;
  const TokenAuth& auth_;
};

}  // namespace weft::head
