#include "cli/head_client.h"

#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "code.grpc.pb.h"
#include "common/actor_listing.h"
#include "common/cluster_endpoint.h"
#include "common/rpc.h"
#include "common/status.h"
#include "head.grpc.pb.h"
#include "log.grpc.pb.h"
#include "node.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace weft::cli {
namespace {

constexpr std::chrono::milliseconds kHeadTimeout{3000};

// Runs one blocking unary call with the given deadline and converts its status.
template <typename Call>
absl::Status Unary(std::chrono::milliseconds timeout, Call call) {
  grpc::ClientContext context;
  SetTimeout(context, timeout);
  return FromGrpcStatus(call(&context));
}

// Asks every address at the same time: `ask(address)` for each, the answers in their order.
template <typename Ask>
auto AskEach(const std::vector<std::string>& addresses, Ask ask) {
  std::vector<std::future<decltype(ask(std::string()))>> pending;
  for (const auto& address : addresses) {
    pending.push_back(std::async(std::launch::async, [&ask, address] { return ask(address); }));
  }
  std::vector<decltype(ask(std::string()))> answers;
  for (auto& answer : pending) answers.push_back(answer.get());
  return answers;
}

// Asks every worker at `workers` (addresses) `rpc` with an empty request, all at once.
template <typename Reply, typename Rpc>
std::vector<absl::StatusOr<Reply>> AskWorkers(const std::vector<std::string>& workers,
                                              const std::string& token,
                                              std::chrono::milliseconds timeout, Rpc rpc) {
  return AskEach(workers, [&](const std::string& address) -> absl::StatusOr<Reply> {
    auto stub = proto::Worker::NewStub(MakeChannel(address, token));
    Reply reply;
    const auto status =
        Unary(timeout, [&](grpc::ClientContext* c) { return ((*stub).*rpc)(c, {}, &reply); });
    if (!status.ok()) return status;
    return reply;
  });
}

}  // namespace

HeadClient::HeadClient(std::string address, std::string token)
    : address_(std::move(address)),
      token_(std::move(token)),
      channel_(MakeChannel(address_, token_)) {}

absl::StatusOr<HeadClient> HeadClient::Connect(const ClusterFlags& flags) {
  auto endpoint = ResolveAndSecure(flags);
  if (!endpoint.ok()) return endpoint.status();
  return HeadClient(endpoint->head_address, endpoint->token);
}

absl::Status HeadClient::HeadError(const absl::Status& status) const {
  if (status.ok() || status.code() == absl::StatusCode::kNotFound) return status;
  const bool unreachable = status.code() == absl::StatusCode::kUnavailable ||
                           status.code() == absl::StatusCode::kDeadlineExceeded;
  return absl::Status(status.code(),
                      absl::StrCat(unreachable ? "cannot reach the head at " : "the head at ",
                                   address_, ": ", status.message()));
}

absl::StatusOr<std::vector<proto::ActorInfo>> HeadClient::ListActors(int page_size) const {
  auto stub = proto::ActorDirectory::NewStub(channel_);
  auto actors = ListAllActors(
      [&](const proto::ListActorsRequest& request, proto::ListActorsReply* reply) {
        return Unary(kHeadTimeout,
                     [&](grpc::ClientContext* c) { return stub->ListActors(c, request, reply); });
      },
      page_size);
  if (!actors.ok()) return HeadError(actors.status());
  return actors;
}

absl::StatusOr<proto::ActorInfo> HeadClient::FindActor(const std::string& id) const {
  auto actors = ListActors();
  if (!actors.ok()) return actors.status();
  return SelectByIdPrefix(*actors, id);
}

absl::StatusOr<proto::ActorInfo> HeadClient::GetActor(const std::string& id) const {
  auto stub = proto::ActorDirectory::NewStub(channel_);
  proto::GetActorRequest request;
  request.set_actor_id(id);
  proto::GetActorReply reply;
  const auto status = Unary(
      kHeadTimeout, [&](grpc::ClientContext* c) { return stub->GetActor(c, request, &reply); });
  if (!status.ok()) return HeadError(status);
  return reply.actor();
}

absl::StatusOr<proto::ActorInfo> HeadClient::FindNamedActor(const std::string& name,
                                                            const std::string& ns) const {
  auto stub = proto::ActorDirectory::NewStub(channel_);
  proto::GetActorRequest request;
  request.set_name(name);
  request.set_namespace_(ns);
  proto::GetActorReply reply;
  const auto status = Unary(
      kHeadTimeout, [&](grpc::ClientContext* c) { return stub->GetActor(c, request, &reply); });
  if (!status.ok()) return HeadError(status);
  return reply.actor();
}

absl::StatusOr<proto::ActorInfo> HeadClient::KillActor(const std::string& id,
                                                       const std::string& reason) const {
  auto stub = proto::ActorDirectory::NewStub(channel_);
  proto::KillActorRequest request;
  request.set_actor_id(id);
  request.set_reason(reason);
  proto::KillActorReply reply;
  const auto status = Unary(
      kHeadTimeout, [&](grpc::ClientContext* c) { return stub->KillActor(c, request, &reply); });
  if (!status.ok()) return HeadError(status);
  return reply.actor();
}

absl::StatusOr<proto::ListObjectsReply> HeadClient::ListObjects() const {
  auto stub = proto::ObjectDirectory::NewStub(channel_);
  proto::ListObjectsReply reply;
  const auto status = Unary(kHeadTimeout, [&](grpc::ClientContext* c) {
    return stub->ListObjects(c, proto::ListObjectsRequest(), &reply);
  });
  if (!status.ok()) return HeadError(status);
  return reply;
}

absl::StatusOr<proto::ListJobsReply> HeadClient::ListJobs() const {
  auto stub = proto::JobRegistry::NewStub(channel_);
  proto::ListJobsReply reply;
  const auto status = Unary(kHeadTimeout, [&](grpc::ClientContext* c) {
    return stub->ListJobs(c, proto::ListJobsRequest(), &reply);
  });
  if (!status.ok()) return HeadError(status);
  return reply;
}

absl::StatusOr<proto::JobInfo> HeadClient::FindJob(const std::string& id) const {
  auto jobs = ListJobs();
  if (!jobs.ok()) return jobs.status();
  std::vector<const proto::JobInfo*> matches;
  for (const auto& job : jobs->jobs()) {
    if (job.job_id() == id) return job;
    if (absl::StartsWith(job.job_id(), id)) matches.push_back(&job);
  }
  if (matches.size() == 1) return *matches[0];
  if (matches.empty()) return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
  return absl::InvalidArgumentError(
      absl::StrCat("job id prefix ", id, " matches ", matches.size(), " jobs"));
}

absl::StatusOr<proto::JobInfo> HeadClient::GetJob(const std::string& id) const {
  auto stub = proto::JobRegistry::NewStub(channel_);
  proto::GetJobRequest request;
  request.set_job_id(id);
  proto::GetJobReply reply;
  const auto status =
      Unary(kHeadTimeout, [&](grpc::ClientContext* c) { return stub->GetJob(c, request, &reply); });
  if (!status.ok()) return HeadError(status);
  return reply.job();
}

absl::StatusOr<proto::JobInfo> HeadClient::SubmitJob(const proto::JobSubmission& submission) const {
  auto stub = proto::JobRegistry::NewStub(channel_);
  proto::SubmitJobRequest request;
  *request.mutable_submission() = submission;
  proto::SubmitJobReply reply;
  const auto status = Unary(
      kHeadTimeout, [&](grpc::ClientContext* c) { return stub->SubmitJob(c, request, &reply); });
  if (!status.ok()) return HeadError(status);
  return reply.job();
}

absl::StatusOr<proto::JobInfo> HeadClient::StopJob(const std::string& job_id) const {
  auto stub = proto::JobRegistry::NewStub(channel_);
  proto::StopJobRequest request;
  request.set_job_id(job_id);
  proto::StopJobReply reply;
  const auto status = Unary(
      kHeadTimeout, [&](grpc::ClientContext* c) { return stub->StopJob(c, request, &reply); });
  if (!status.ok()) return HeadError(status);
  return reply.job();
}

absl::Status HeadClient::SendCode(const std::vector<CodeFile>& files) const {
  auto stub = proto::CodeStore::NewStub(channel_);
  return HeadError(weft::SendCode(*stub, files));
}

absl::StatusOr<proto::ListNodesReply> HeadClient::ListNodes() const {
  auto stub = proto::NodeDirectory::NewStub(channel_);
  proto::ListNodesReply reply;
  const auto status = Unary(kHeadTimeout, [&](grpc::ClientContext* c) {
    return stub->ListNodes(c, proto::ListNodesRequest(), &reply);
  });
  if (!status.ok()) return HeadError(status);
  return reply;
}

absl::StatusOr<proto::ListWorkersReply> HeadClient::ListWorkers(
    const std::string& node_address) const {
  auto stub = proto::NodeManager::NewStub(MakeChannel(node_address, token_));
  proto::ListWorkersReply reply;
  const auto status = Unary(kHeadTimeout, [&](grpc::ClientContext* c) {
    return stub->ListWorkers(c, proto::ListWorkersRequest(), &reply);
  });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("cannot list the workers of the node at ",
                                                    node_address, ": ", status.message()));
  }
  return reply;
}

absl::StatusOr<proto::ReadLogReply> HeadClient::ReadLog(
    const std::string& node_address, const proto::ReadLogRequest& request) const {
  auto stub = proto::NodeLogs::NewStub(MakeChannel(node_address, token_));
  proto::ReadLogReply reply;
  const auto status = Unary(
      kHeadTimeout, [&](grpc::ClientContext* c) { return stub->ReadLog(c, request, &reply); });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("cannot read a log of the node at ",
                                                    node_address, ": ", status.message()));
  }
  return reply;
}

absl::StatusOr<proto::ListExitedCallsReply> HeadClient::ExitedCalls(
    const std::string& node_address, const std::string& job_id) const {
  auto stub = proto::NodeLogs::NewStub(MakeChannel(node_address, token_));
  proto::ListExitedCallsRequest request;
  request.set_job_id(job_id);
  proto::ListExitedCallsReply reply;
  const auto status = Unary(kHeadTimeout, [&](grpc::ClientContext* c) {
    return stub->ListExitedCalls(c, request, &reply);
  });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("cannot list the calls of exited workers of "
                                                    "the node at ",
                                                    node_address, ": ", status.message()));
  }
  return reply;
}

std::map<std::string, proto::ActorStats> HeadClient::ActorStats(
    const std::vector<std::string>& workers, std::chrono::milliseconds timeout) const {
  const auto replies = AskEach(workers, [this, timeout](const std::string& address) {
    auto stub = proto::Worker::NewStub(MakeChannel(address, token_));
    proto::GetActorStatsReply reply;
    const auto status = Unary(timeout, [&](grpc::ClientContext* c) {
      return stub->GetActorStats(c, proto::GetActorStatsRequest(), &reply);
    });
    return status.ok() ? reply : proto::GetActorStatsReply();
  });
  std::map<std::string, proto::ActorStats> stats;
  for (const auto& reply : replies) {
    for (const auto& actor : reply.actors()) stats[actor.actor_id()] = actor;
  }
  return stats;
}

std::vector<absl::StatusOr<proto::GetCallEventsReply>> HeadClient::CallEvents(
    const std::vector<std::string>& workers, std::chrono::milliseconds timeout) const {
  return AskWorkers<proto::GetCallEventsReply>(workers, token_, timeout,
                                               &proto::Worker::Stub::GetCallEvents);
}

std::vector<absl::StatusOr<proto::GetMethodStatsReply>> HeadClient::MethodStats(
    const std::vector<std::string>& workers, std::chrono::milliseconds timeout) const {
  return AskWorkers<proto::GetMethodStatsReply>(workers, token_, timeout,
                                                &proto::Worker::Stub::GetMethodStats);
}

std::map<std::string, proto::ReferenceCounts> HeadClient::References(
    const std::map<std::string, std::vector<std::string>>& ids_by_owner,
    std::chrono::milliseconds timeout) const {
  std::vector<std::string> owners;
  for (const auto& [address, ids] : ids_by_owner) owners.push_back(address);
  auto replies = AskEach(owners, [this, &ids_by_owner, timeout](const std::string& address) {
    auto stub = proto::Owner::NewStub(MakeChannel(address, token_));
    proto::GetReferencesRequest request;
    for (const auto& id : ids_by_owner.at(address)) request.add_object_ids(id);
    proto::GetReferencesReply reply;
    const auto status = Unary(
        timeout, [&](grpc::ClientContext* c) { return stub->GetReferences(c, request, &reply); });
    return status.ok() ? reply : proto::GetReferencesReply();
  });
  std::map<std::string, proto::ReferenceCounts> references;
  for (auto& reply : replies) {
    for (auto& counts : *reply.mutable_references()) {
      references[counts.object_id()] = std::move(counts);
    }
  }
  return references;
}

}  // namespace weft::cli
