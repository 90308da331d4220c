#pragma once

#include <functional>
#include <string>

#include "common/auth.h"
#include "head.grpc.pb.h"
#include "raylet/head/job_registry.h"

namespace weft::head {

// gRPC adapter: checks the token, calls one method of the table, finishes. Never blocks.
class JobRegistryService final : public proto::JobRegistry::CallbackService {
 public:
  using JobFinishedFn = std::function<void(const std::string& job_id)>;
  JobRegistryService(JobRegistry& jobs, const TokenAuth& auth, JobFinishedFn on_finished)
      : jobs_(jobs), auth_(auth), on_finished_(std::move(on_finished)) {}

  grpc::ServerUnaryReactor* RegisterJob(grpc::CallbackServerContext*,
                                        const proto::RegisterJobRequest*,
                                        proto::RegisterJobReply*) override;
  grpc::ServerUnaryReactor* FinishJob(grpc::CallbackServerContext*, const proto::FinishJobRequest*,
                                      proto::FinishJobReply*) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext*, const proto::ListJobsRequest*,
                                     proto::ListJobsReply*) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext*, const proto::GetJobRequest*,
                                   proto::GetJobReply*) override;

 private:
  JobRegistry& jobs_;
  const TokenAuth& auth_;
  const JobFinishedFn on_finished_;
};

}  // namespace weft::head
