#include "bench/head_scale/simulated_nodes.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/rpc.h"
#include "common/watch_reactor.h"

namespace weft::bench {
namespace {

// What each node has: the same as a small real node's.
constexpr double kCpus = 4;
constexpr double kMemoryBytes = 8.0 * (1 << 30);

google::protobuf::Map<std::string, double> Resources() {
  google::protobuf::Map<std::string, double> resources;
  resources["CPU"] = kCpus;
  resources["memory"] = kMemoryBytes;
  return resources;
}

// A call with nothing to do: OK with the cluster token, UNAUTHENTICATED without.
grpc::ServerUnaryReactor* Acknowledge(const TokenAuth& auth, grpc::CallbackServerContext* context) {
  if (auto* refused = auth.Reject(context)) return refused;
  return FinishWith(context, absl::OkStatus());
}

}  // namespace

class SimulatedNodes::NodeService final : public proto::NodeManager::CallbackService {
 public:
  explicit NodeService(SimulatedNodes& nodes) : nodes_(nodes) {}

  grpc::ServerUnaryReactor* SpawnWorker(grpc::CallbackServerContext* context,
                                        const proto::SpawnWorkerRequest* request,
                                        proto::SpawnWorkerReply* reply) override {
    if (auto* refused = nodes_.auth_.Reject(context)) return refused;
    Node* node = nodes_.NodeOf(*context);
    if (!node) return FinishWith(context, absl::NotFoundError("no such node"));
    proto::WorkerInfo& worker = *reply->mutable_worker();
    {
      absl::MutexLock lock(&nodes_.nodes_mu_);
      node->worker_id = NewWorkerId();
      worker.set_worker_id(node->worker_id);
      reply->set_resource_version(++node->resource_version);
    }
    worker.set_node_id(node->node_id);
    worker.set_pid(getpid());
    worker.set_address(node->address);  // the node's own port serves its worker too
    worker.set_state(proto::WORKER_ALIVE);
    worker.set_job_id(request->job_id());
    worker.set_owner_worker_id(request->owner_worker_id());
    return FinishWith(context, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* KillWorker(grpc::CallbackServerContext* context,
                                       const proto::KillWorkerRequest*,
                                       proto::KillWorkerReply*) override {
    return Acknowledge(nodes_.auth_, context);
  }

  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* context,
                                        const proto::ListWorkersRequest*,
                                        proto::ListWorkersReply*) override {
    return Acknowledge(nodes_.auth_, context);
  }

 private:
  SimulatedNodes& nodes_;
};

class SimulatedNodes::WorkerService final : public proto::Worker::CallbackService {
 public:
  explicit WorkerService(SimulatedNodes& nodes) : nodes_(nodes) {}

  grpc::ServerBidiReactor<proto::ActorConstructions, proto::ActorConstructionAnswers>*
  ConstructActors(grpc::CallbackServerContext* context) override {
    using Constructions = WatchReactor<proto::ActorConstructions, proto::ActorConstructionAnswers>;
    return Constructions::Serve(nodes_.auth_, context,
                                [this](const proto::ConstructActorRequest& request,
                                       Constructions::Respond respond) -> Constructions::Withdraw {
                                  nodes_.Construct(request.spec().actor_id());
                                  proto::ConstructActorReply reply;
                                  reply.set_executor("thread_pool");
                                  reply.set_max_concurrency(1);
                                  reply.set_pid(getpid());
                                  respond(absl::OkStatus(), std::move(reply));
                                  return nullptr;
                                });
  }

  grpc::ServerUnaryReactor* DestroyActor(grpc::CallbackServerContext* context,
                                         const proto::DestroyActorRequest*,
                                         proto::DestroyActorReply*) override {
    return Acknowledge(nodes_.auth_, context);
  }

  grpc::ServerUnaryReactor* FreeObjects(grpc::CallbackServerContext* context,
                                        const proto::FreeObjectsRequest*,
                                        proto::FreeObjectsReply*) override {
    return Acknowledge(nodes_.auth_, context);
  }

 private:
  SimulatedNodes& nodes_;
};

SimulatedNodes::SimulatedNodes(std::string head_address, std::string token, int count)
    : head_address_(std::move(head_address)),
      token_(std::move(token)),
      auth_(token_),
      count_(count),
      node_service_(std::make_unique<NodeService>(*this)),
      worker_service_(std::make_unique<WorkerService>(*this)) {}

SimulatedNodes::~SimulatedNodes() { Stop(); }

absl::Status SimulatedNodes::Start() {
  grpc::ServerBuilder builder;
  ConfigureServer(builder);  // as a raylet's: the head's keepalive pings are welcome
  std::vector<int> ports(count_, 0);
  for (int& port : ports) {
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  }
  builder.RegisterService(node_service_.get());
  builder.RegisterService(worker_service_.get());
  server_ = builder.BuildAndStart();
  if (!server_) return absl::UnavailableError("the simulated nodes cannot listen");
  nodes_.resize(count_);
  for (int i = 0; i < count_; ++i) {
    if (ports[i] == 0) return absl::UnavailableError("a simulated node got no port");
    nodes_[i].node_id = NewNodeId();
    nodes_[i].address = absl::StrCat("127.0.0.1:", ports[i]);
    by_address_[nodes_[i].address] = &nodes_[i];
  }
  ready_.store(true);  // the head calls none before it has registered, below
  head_ = proto::NodeDirectory::NewStub(MakeChannel(head_address_, token_));
  char hostname[256] = "simulated";
  gethostname(hostname, sizeof(hostname) - 1);
  for (const Node& node : nodes_) {
    proto::RegisterNodeRequest request;
    proto::NodeInfo& info = *request.mutable_node();
    info.set_node_id(node.node_id);
    info.set_address(node.address);
    info.set_hostname(hostname);
    *info.mutable_total() = Resources();
    *info.mutable_available() = Resources();
    info.set_raylet_pid(getpid());
    info.set_head_address(head_address_);
    proto::RegisterNodeReply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::Status status = head_->RegisterNode(&context, request, &reply);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("the head refused node ", node.node_id, ": ", status.error_message()));
    }
    cluster_id_ = reply.cluster_id();
    period_ = std::chrono::milliseconds(std::max<int64_t>(reply.heartbeat_period_ms(), 10));
  }
  heartbeats_ = std::thread([this] { Heartbeats(); });
  return absl::OkStatus();
}

void SimulatedNodes::Stop() {
  if (stopping_.exchange(true)) return;
  if (heartbeats_.joinable()) heartbeats_.join();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

SimulatedNodes::Node* SimulatedNodes::NodeOf(const grpc::CallbackServerContext& context) {
  if (!ready_.load()) return nullptr;
  const grpc::string_ref authority = context.ExperimentalGetAuthority();
  auto it = by_address_.find(std::string(authority.data(), authority.size()));
  return it == by_address_.end() ? nullptr : it->second;
}

void SimulatedNodes::Construct(const std::string& actor_id) {
  const auto now = Clock::now();
  absl::MutexLock lock(&mu_);
  constructed_at_.emplace(actor_id, now);  // the first time it was asked for
}

int64_t SimulatedNodes::constructed() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(constructed_at_.size());
}

absl::flat_hash_map<std::string, SimulatedNodes::Clock::time_point> SimulatedNodes::ConstructedAt()
    const {
  absl::MutexLock lock(&mu_);
  return constructed_at_;
}

// Every node's heartbeat once per period, all in flight at once as a thousand raylets' would
// be, the next round at the next period (or when this one has been answered, if later).
void SimulatedNodes::Heartbeats() {
  const auto resources = Resources();
  auto next = Clock::now();
  while (!stopping_.load()) {
    std::mutex mu;
    std::condition_variable answered;
    int outstanding = count_;
    struct Call {
      grpc::ClientContext context;
      proto::HeartbeatRequest request;
      proto::HeartbeatReply reply;
    };
    std::vector<Call> calls(count_);
    for (int i = 0; i < count_; ++i) {
      Call& call = calls[i];
      call.context.set_deadline(std::chrono::system_clock::now() + period_ * 4);
      call.request.set_node_id(nodes_[i].node_id);
      call.request.set_cluster_id(cluster_id_);
      *call.request.mutable_available() = resources;
      {
        absl::MutexLock lock(&nodes_mu_);
        call.request.set_resource_version(nodes_[i].resource_version);
        call.request.set_num_workers(nodes_[i].worker_id.empty() ? 0 : 1);
      }
      head_->async()->Heartbeat(&call.context, &call.request, &call.reply,
                                [&](grpc::Status status) {
                                  if (!status.ok()) failed_heartbeats_.fetch_add(1);
                                  std::lock_guard lock(mu);
                                  if (--outstanding == 0) answered.notify_one();
                                });
    }
    {
      std::unique_lock lock(mu);
      answered.wait(lock, [&] { return outstanding == 0; });  // bounded by the deadlines
    }
    next += period_;
    const auto now = Clock::now();
    if (next < now) next = now;
    // The period's wait, in slices, so that Stop is not held up by it.
    while (!stopping_.load() && Clock::now() < next) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(next - Clock::now(), std::chrono::milliseconds(50)));
    }
  }
}

}  // namespace weft::bench
