#include "weft/cluster.h"

#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "client/src/cluster_state.h"
#include "client/src/log_subscriber.h"
#include "common/cluster_endpoint.h"
#include "common/cluster_tls.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/transport_security.h"
#include "head.grpc.pb.h"
#include "node.grpc.pb.h"
#include "worker.grpc.pb.h"

namespace weft {
namespace {

[[noreturn]] void Throw(const absl::Status& status) {
  throw Error(static_cast<int>(status.code()), std::string(status.message()));
}

void Check(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return;
  const absl::Status failed = FromGrpcStatus(status);
  Throw(absl::Status(failed.code(), absl::StrCat(what, ": ", failed.message())));
}

std::string SelfCommandLine() {
  char path[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return n > 0 ? std::string(path, n) : "driver";
}

}  // namespace

struct Cluster::Impl {
  ClusterEndpoint endpoint;
  std::shared_ptr<grpc::Channel> head;
  std::unique_ptr<proto::NodeDirectory::Stub> nodes;
  std::unique_ptr<proto::JobRegistry::Stub> jobs;
  std::unique_ptr<proto::Scheduler::Stub> scheduler;
  std::string job_id;
  std::unique_ptr<internal::LogSubscriber> logs;  // prints the job's worker output
  bool closed = false;
};

Cluster Cluster::Connect(const ConnectOptions& options) {
  auto endpoint = ResolveClusterEndpoint(options.address, options.session_dir);
  if (!endpoint.ok()) Throw(endpoint.status());
  auto impl = std::make_unique<Impl>();
  impl->endpoint = *std::move(endpoint);
  // A cluster with TLS: its CA is trusted by every channel of this process from now on (and
  // the endpoint's certificate shown, under mutual TLS).
  auto security = ClientSecurityFor(impl->endpoint, InsecureAllowed(), /*learn_mode=*/false);
  if (!security.ok()) Throw(security.status());  // the token is not sent in clear
  if (security->tls()) SetTransportSecurity(*std::move(security));
  impl->head = MakeChannel(impl->endpoint.head_address, impl->endpoint.token);
  impl->nodes = proto::NodeDirectory::NewStub(impl->head);
  impl->jobs = proto::JobRegistry::NewStub(impl->head);
  impl->scheduler = proto::Scheduler::NewStub(impl->head);

  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::RegisterJobRequest request;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  request.set_driver_host(host);
  request.set_driver_pid(getpid());
  request.set_entrypoint(SelfCommandLine());
  proto::RegisterJobReply reply;
  Check(impl->jobs->RegisterJob(&context, request, &reply),
        absl::StrCat("cannot connect to the cluster at ", impl->endpoint.head_address));
  impl->job_id = reply.job().job_id();
  SetMaxMessageBytes(static_cast<int>(reply.max_message_bytes()));
  impl->logs = std::make_unique<internal::LogSubscriber>(impl->head, impl->job_id);
  return Cluster(std::move(impl));
}

Cluster::Cluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cluster::Cluster(Cluster&&) noexcept = default;
Cluster& Cluster::operator=(Cluster&& other) noexcept {
  if (this != &other) {
    if (impl_) Close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Cluster::~Cluster() {
  if (impl_) Close();
}

const std::string& Cluster::job_id() const { return impl_->job_id; }
const std::string& Cluster::head_address() const { return impl_->endpoint.head_address; }

std::vector<NodeInfo> Cluster::Nodes() const {
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::ListNodesReply reply;
  Check(impl_->nodes->ListNodes(&context, proto::ListNodesRequest(), &reply), "cannot list nodes");
  std::vector<NodeInfo> out;
  for (const auto& node : reply.nodes()) out.push_back(internal::ToNodeInfo(node));
  return out;
}

WorkerProbe Cluster::ProbeWorker(size_t payload_bytes, double num_cpus) const {
  proto::LeaseWorkerRequest lease;
  lease.set_job_id(impl_->job_id);
  if (num_cpus > 0) (*lease.mutable_required())["CPU"] = num_cpus;
  proto::LeaseWorkerReply leased;
  {
    grpc::ClientContext context;
    SetTimeout(context, kControlRpcTimeout * 8);
    Check(impl_->scheduler->LeaseWorker(&context, lease, &leased), "cannot start a worker");
  }
  // Straight to the worker: the head is not on the data path.
  const std::string& token = impl_->endpoint.token;
  auto worker = proto::Worker::NewStub(MakeChannel(leased.worker().address(), token));
  absl::Cleanup stop_on_failure = [&] {  // do not leave a worker holding the node's CPU
    auto node = proto::NodeManager::NewStub(MakeChannel(leased.node_address(), token));
    grpc::ClientContext context;
    SetTimeout(context, kControlRpcTimeout);
    proto::KillWorkerRequest kill;
    kill.set_worker_id(leased.worker().worker_id());
    kill.set_force(true);
    proto::KillWorkerReply killed;
    node->KillWorker(&context, kill, &killed);
  };
  proto::PingRequest ping;
  std::string payload(payload_bytes, '\0');
  for (size_t i = 0; i < payload_bytes; ++i) payload[i] = static_cast<char>('a' + i % 26);
  ping.set_payload(payload);
  proto::PingReply pong;
  const auto start = std::chrono::steady_clock::now();
  {
    grpc::ClientContext context;
    SetTimeout(context, kControlRpcTimeout);
    Check(worker->Ping(&context, ping, &pong), "worker did not answer");
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (pong.payload() != payload) {
    Throw(absl::DataLossError(absl::StrCat("worker ", pong.worker_id(), " echoed ",
                                           pong.payload().size(), " bytes that differ")));
  }
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout);
  proto::ExitReply exited;
  Check(worker->Exit(&context, proto::ExitRequest(), &exited), "worker did not exit");
  std::move(stop_on_failure).Cancel();
  return WorkerProbe{pong.worker_id(), pong.node_id(), pong.pid(), pong.payload().size(),
                     std::chrono::duration_cast<std::chrono::microseconds>(elapsed)};
}

void Cluster::Close() {
  if (impl_->closed) return;
  impl_->closed = true;
  if (impl_->logs) {
    impl_->logs->Flush(std::chrono::seconds(2));  // what the workers printed reaches stdout
    impl_->logs.reset();
  }
  grpc::ClientContext context;
  SetTimeout(context, std::chrono::milliseconds(2000));
  proto::FinishJobRequest request;
  request.set_job_id(impl_->job_id);
  proto::FinishJobReply reply;
  impl_->jobs->FinishJob(&context, request, &reply);  // best effort: the head may be gone
}

}  // namespace weft
