#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/head_query.h"
#include "common/actor_listing.h"
#include "common/code_upload.h"
#include "head.pb.h"
#include "log.pb.h"
#include "node.pb.h"
#include "worker.pb.h"

namespace weft::cli {

// The RPCs of the actor and object commands: the head's directories, and the nodes and
// workers they point to. Blocking calls with short deadlines; no rendering.
//
// Failures of calls to the head that mean it is not there (UNAVAILABLE, DEADLINE_EXCEEDED)
// read "cannot reach the head at <address>: ..."; NOT_FOUND is passed on as the head said it.
class HeadClient {
 public:
  // Resolves the head's address and token from the flags (no RPC yet).
  [[nodiscard]] static absl::StatusOr<HeadClient> Connect(const ClusterFlags& flags);
  // The head at `address`, for a process that knows it and its token, and whose transport
  // security is already set (the head's own dashboard).
  static HeadClient At(std::string address, std::string token) {
    return HeadClient(std::move(address), std::move(token));
  }

  const std::string& address() const { return address_; }

  // Every actor, asked for `page_size` at a time (ListActorsRequest).
  [[nodiscard]] absl::StatusOr<std::vector<proto::ActorInfo>> ListActors(
      int page_size = kActorPageSize) const;
  // By exact actor id, else by a unique prefix of one. NOT_FOUND "actor <id> not found";
  // INVALID_ARGUMENT when the prefix matches several actors.
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> FindActor(const std::string& id) const;
  // By exact actor id. NOT_FOUND "actor <id> not found".
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> GetActor(const std::string& id) const;
  // The live actor of that name. NOT_FOUND when there is none.
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> FindNamedActor(const std::string& name,
                                                                const std::string& ns) const;
  // Kills the actor; returns its record afterwards (DEAD).
  [[nodiscard]] absl::StatusOr<proto::ActorInfo> KillActor(const std::string& id,
                                                           const std::string& reason) const;
  [[nodiscard]] absl::StatusOr<proto::ListObjectsReply> ListObjects() const;
  [[nodiscard]] absl::StatusOr<proto::ListNodesReply> ListNodes() const;
  [[nodiscard]] absl::StatusOr<proto::ListJobsReply> ListJobs() const;
  // By exact job id, else by a unique prefix of one. NOT_FOUND "job <id> not found";
  // INVALID_ARGUMENT when the prefix matches several jobs.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> FindJob(const std::string& id) const;
  // By exact job id. NOT_FOUND "job <id> not found".
  [[nodiscard]] absl::StatusOr<proto::JobInfo> GetJob(const std::string& id) const;
  // Runs a driver on the cluster (its files sent first, SendCode): the new job, PENDING.
  [[nodiscard]] absl::StatusOr<proto::JobInfo> SubmitJob(
      const proto::JobSubmission& submission) const;
  [[nodiscard]] absl::StatusOr<proto::JobInfo> StopJob(const std::string& job_id) const;
  // Sends the head's CodeStore the files it does not have.
  [[nodiscard]] absl::Status SendCode(const std::vector<CodeFile>& files) const;
  // The workers of the node whose NodeManager serves at `node_address`.
  [[nodiscard]] absl::StatusOr<proto::ListWorkersReply> ListWorkers(
      const std::string& node_address) const;

  // Bytes of a worker's log, read by the node whose NodeManager serves at `node_address`.
  [[nodiscard]] absl::StatusOr<proto::ReadLogReply> ReadLog(
      const std::string& node_address, const proto::ReadLogRequest& request) const;
  // The call logs the node at `node_address` keeps of its exited workers, of job `job_id`
  // (empty: of every job).
  [[nodiscard]] absl::StatusOr<proto::ListExitedCallsReply> ExitedCalls(
      const std::string& node_address, const std::string& job_id) const;

  // Call counts by actor id, asked of each worker address once, all at the same time.
  // Workers that fail or do not answer within `timeout` are left out.
  std::map<std::string, proto::ActorStats> ActorStats(const std::vector<std::string>& workers,
                                                      std::chrono::milliseconds timeout) const;

  // The calls each worker (by address) answered lately (Worker.GetCallEvents), asked all at
  // the same time; answers in the workers' order, an error for one that failed or did not
  // answer within `timeout`.
  std::vector<absl::StatusOr<proto::GetCallEventsReply>> CallEvents(
      const std::vector<std::string>& workers, std::chrono::milliseconds timeout) const;
  // What each worker ran per class and method (Worker.GetMethodStats), likewise.
  std::vector<absl::StatusOr<proto::GetMethodStatsReply>> MethodStats(
      const std::vector<std::string>& workers, std::chrono::milliseconds timeout) const;

  // What holds each object, asked of its owner (Owner.GetReferences): `ids_by_owner` maps an
  // owner's address to its object ids; all owners are asked at the same time. Owners that
  // fail or do not answer within `timeout` are left out.
  std::map<std::string, proto::ReferenceCounts> References(
      const std::map<std::string, std::vector<std::string>>& ids_by_owner,
      std::chrono::milliseconds timeout) const;

 private:
  HeadClient(std::string address, std::string token);
  absl::Status HeadError(const absl::Status& status) const;

  std::string address_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace weft::cli
