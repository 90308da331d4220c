#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "head.grpc.pb.h"
#include "raylet/head/job_registry.h"
#include "raylet/head/job_submissions.h"

namespace weft::head {

// gRPC adapter: checks the token, calls one method of the table, finishes. Never blocks.
// Holds each driver's KeepJob stream open until its job finishes; a stream that breaks first
// fails the job (see head.proto). `on_finished(job_id, reason)` runs once per ended job, on a
// gRPC thread: reason "its job finished", or the "owner died: ..." of a failed job.
// Thread-safe.
class JobRegistryService final : public proto::JobRegistry::CallbackService {
 public:
  using JobFinishedFn = std::function<void(const std::string& job_id, const std::string& reason)>;
  JobRegistryService(JobRegistry& jobs, JobSubmissions& submissions, const TokenAuth& auth,
                     JobFinishedFn on_finished)
      : jobs_(jobs), submissions_(submissions), auth_(auth), on_finished_(std::move(on_finished)) {}
  ~JobRegistryService() override;

  // Ends every KeepJob stream without failing its job; call before the server shuts down.
  void CloseKeepers();

  // After a head restart: these RUNNING jobs fail (as if their drivers had exited) unless
  // their drivers hold their KeepJob streams again within `grace`.
  void AwaitDrivers(const std::vector<std::string>& job_ids, absl::Duration grace);
  // Call periodically: fails the awaited jobs once the grace has passed.
  void Tick();

  grpc::ServerUnaryReactor* RegisterJob(grpc::CallbackServerContext*,
                                        const proto::RegisterJobRequest*,
                                        proto::RegisterJobReply*) override;
  grpc::ServerUnaryReactor* FinishJob(grpc::CallbackServerContext*, const proto::FinishJobRequest*,
                                      proto::FinishJobReply*) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext*, const proto::ListJobsRequest*,
                                     proto::ListJobsReply*) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext*, const proto::GetJobRequest*,
                                   proto::GetJobReply*) override;
  grpc::ServerWriteReactor<proto::KeepJobReply>* KeepJob(grpc::CallbackServerContext*,
                                                         const proto::KeepJobRequest*) override;
  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext*, const proto::SubmitJobRequest*,
                                      proto::SubmitJobReply*) override;
  grpc::ServerUnaryReactor* StopJob(grpc::CallbackServerContext*, const proto::StopJobRequest*,
                                    proto::StopJobReply*) override;

 private:
  class Keeper;
  // The keeper's stream broke (OnCancel) or ended (OnDone); see Keeper.
  void OnKeeperBroken(Keeper* keeper);
  void Forget(Keeper* keeper);
  // Ends the job's stream with `status`, if one is open.
  void EndKeeper(const std::string& job_id, const grpc::Status& status);

  JobRegistry& jobs_;
  JobSubmissions& submissions_;
  const TokenAuth& auth_;
  const JobFinishedFn on_finished_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Keeper*> keepers_ ABSL_GUARDED_BY(mu_);  // by job id
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::string> awaited_ ABSL_GUARDED_BY(mu_);  // see AwaitDrivers
  absl::Time await_until_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::head
