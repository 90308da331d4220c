// weft/state.h: the head's actor and node directories, read from code.

#include "weft/state.h"

#include <grpcpp/client_context.h>

#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/src/actor_creator.h"
#include "client/src/cluster_state.h"
#include "client/src/head_calls.h"
#include "client/src/runtime.h"
#include "common/actor_listing.h"
#include "common/rpc.h"
#include "common/status.h"
#include "head.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace weft {
namespace internal {
namespace {

// How long the workers of listed actors get to report their call counts.
constexpr std::chrono::milliseconds kCallCountsWait{1000};

[[noreturn]] void Throw(const absl::Status& status, const std::string& what) {
  throw Error(static_cast<int>(status.code()), absl::StrCat(what, ": ", status.message()));
}

ActorState FromProto(proto::ActorState state) {
  switch (state) {
    case proto::ACTOR_ALIVE:
      return ActorState::kAlive;
    case proto::ACTOR_RESTARTING:
      return ActorState::kRestarting;
    case proto::ACTOR_DEAD:
      return ActorState::kDead;
    default:
      return ActorState::kPending;
  }
}

proto::ActorState ToProto(ActorState state) {
  switch (state) {
    case ActorState::kAlive:
      return proto::ACTOR_ALIVE;
    case ActorState::kRestarting:
      return proto::ACTOR_RESTARTING;
    case ActorState::kDead:
      return proto::ACTOR_DEAD;
    case ActorState::kPending:
      break;
  }
  return proto::ACTOR_PENDING;
}

std::vector<ActorFilterTerm> Terms(const ActorFilter& filter) {
  std::vector<ActorFilterTerm> terms;
  if (filter.state) terms.push_back({"state", ActorStateName(ToProto(*filter.state))});
  if (!filter.class_name.empty()) terms.push_back({"class", filter.class_name});
  if (!filter.name.empty()) terms.push_back({"name", filter.name});
  if (!filter.node_id.empty()) terms.push_back({"node", filter.node_id});
  if (!filter.job_id.empty()) terms.push_back({"job", filter.job_id});
  return terms;
}

// Asks the worker of every ALIVE actor in `actors` for its call counts, all workers at once, and
// sets them on the actors whose worker answered within kCallCountsWait.
void AddCallCounts(Runtime& runtime, std::vector<ActorInfo>& actors) {
  std::set<std::string> addresses;
  for (const auto& actor : actors) {
    if (actor.state == ActorState::kAlive && !actor.address.empty()) {
      addresses.insert(actor.address);
    }
  }
  struct Ask {
    grpc::ClientContext context;
    proto::GetActorStatsRequest request;
    proto::GetActorStatsReply reply;
    bool ok = false;
  };
  // Shared with the callbacks, which may run after the wait below has seen the last of them.
  struct Asks {
    absl::Mutex mu;
    absl::CondVar answered_cv;
    size_t answered ABSL_GUARDED_BY(mu) = 0;
    std::vector<std::unique_ptr<Ask>> asks;
  };
  auto all = std::make_shared<Asks>();
  for (size_t i = 0; i < addresses.size(); ++i) all->asks.push_back(std::make_unique<Ask>());
  size_t i = 0;
  for (const auto& address : addresses) {
    Ask& ask = *all->asks[i++];
    SetTimeout(ask.context, kCallCountsWait);
    runtime.workers().Stub(address).async()->GetActorStats(&ask.context, &ask.request, &ask.reply,
                                                           [all, &ask](const grpc::Status& status) {
                                                             absl::MutexLock lock(&all->mu);
                                                             ask.ok = status.ok();
                                                             ++all->answered;
                                                             all->answered_cv.Signal();
                                                           });
  }
  {
    absl::MutexLock lock(&all->mu);  // every call ends by its deadline
    while (all->answered < all->asks.size()) all->answered_cv.Wait(&all->mu);
  }
  std::map<std::string, ActorCallCounts> counts;
  for (const auto& ask : all->asks) {
    if (!ask->ok) continue;
    for (const auto& stats : ask->reply.actors()) {
      counts[stats.actor_id()] = {stats.running(), stats.queued(), stats.finished()};
    }
  }
  for (auto& actor : actors) {
    if (actor.state != ActorState::kAlive) continue;
    if (auto it = counts.find(actor.actor_id); it != counts.end()) actor.calls = it->second;
  }
}

}  // namespace

ActorInfo ToActorInfo(const proto::ActorInfo& a) {
  ActorInfo info;
  info.actor_id = a.actor_id();
  info.class_name = a.class_name();
  info.name = a.name();
  info.ns = a.namespace_();
  info.state = FromProto(a.state());
  info.pending_reason = a.pending_reason();
  info.death_reason = a.death_reason();
  info.job_id = a.job_id();
  info.node_id = a.node_id();
  info.worker_id = a.worker_id();
  info.address = a.address();
  info.pid = a.pid();
  info.executor = a.executor();
  info.max_concurrency = a.max_concurrency();
  info.num_restarts = a.num_restarts();
  info.max_restarts = a.max_restarts();
  info.detached = a.detached();
  info.resources = {a.resources().begin(), a.resources().end()};
  info.created =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(a.created_unix_ms()));
  return info;
}

NodeInfo ToNodeInfo(const proto::NodeInfo& n) {
  NodeInfo info;
  info.node_id = n.node_id();
  info.address = n.address();
  info.hostname = n.hostname();
  info.is_head = n.is_head();
  info.alive = n.state() == proto::NODE_ALIVE;
  info.total = {n.total().begin(), n.total().end()};
  info.available = {n.available().begin(), n.available().end()};
  info.num_workers = n.num_workers();
  info.death_reason = n.death_reason();
  info.raylet_pid = n.raylet_pid();
  info.last_heartbeat =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(n.last_heartbeat_unix_ms()));
  return info;
}

}  // namespace internal

std::string_view ToString(ActorState state) { return ActorStateName(internal::ToProto(state)); }

ActorInfo GetActorInfo(const std::string& actor_id) {
  auto& runtime = internal::Runtime::Get();
  runtime.creator().WaitAnswered(actor_id);  // made here and not yet at the head: wait for it
  proto::GetActorRequest request;
  request.set_actor_id(actor_id);
  proto::GetActorReply reply;
  const grpc::Status status =
      internal::CallHead(runtime.config().head_address, [&](grpc::ClientContext& context) {
        return runtime.actor_directory().GetActor(&context, request, &reply);
      });
  if (!status.ok()) internal::Throw(FromGrpcStatus(status), "cannot get actor " + actor_id);
  std::vector<ActorInfo> one{internal::ToActorInfo(reply.actor())};
  internal::AddCallCounts(runtime, one);
  return std::move(one.front());
}

std::vector<ActorInfo> ListActors(const ActorFilter& filter) {
  auto& runtime = internal::Runtime::Get();
  runtime.creator().Flush(kHeadUnavailableWait);  // this process's creations are listed too
  auto listed = ListAllActors(
      [&runtime](const proto::ListActorsRequest& request, proto::ListActorsReply* reply) {
        return FromGrpcStatus(
            internal::CallHead(runtime.config().head_address, [&](grpc::ClientContext& context) {
              return runtime.actor_directory().ListActors(&context, request, reply);
            }));
      },
      kActorPageSize, internal::Terms(filter));
  if (!listed.ok()) internal::Throw(listed.status(), "cannot list actors");
  std::vector<ActorInfo> actors;
  actors.reserve(listed->size());
  for (const auto& actor : *listed) actors.push_back(internal::ToActorInfo(actor));
  internal::AddCallCounts(runtime, actors);
  return actors;
}

std::vector<NodeInfo> ListNodes() {
  auto& runtime = internal::Runtime::Get();
  auto nodes = proto::NodeDirectory::NewStub(runtime.head_channel());
  proto::ListNodesReply reply;
  const grpc::Status status =
      internal::CallHead(runtime.config().head_address, [&](grpc::ClientContext& context) {
        return nodes->ListNodes(&context, proto::ListNodesRequest(), &reply);
      });
  if (!status.ok()) internal::Throw(FromGrpcStatus(status), "cannot list nodes");
  std::vector<NodeInfo> out;
  for (const auto& node : reply.nodes()) out.push_back(internal::ToNodeInfo(node));
  return out;
}

}  // namespace weft
