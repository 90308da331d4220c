#include "raylet/dashboard/head_metrics.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "cli/job_render.h"
#include "common/actor_listing.h"

namespace weft::dashboard {
namespace {

// Head RPCs take from tens of microseconds (a lookup) to seconds (a store write under load).
const prometheus::Histogram::BucketBoundaries kRpcBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

// "/weft.proto.NodeDirectory/Heartbeat": service weft.proto.NodeDirectory, method Heartbeat.
prometheus::Labels MethodLabels(const std::string& method) {
  const size_t slash = method.rfind('/');
  if (slash == std::string::npos || slash == 0) return {{"service", ""}, {"method", method}};
  return {{"service", method.substr(1, slash - 1)}, {"method", method.substr(slash + 1)}};
}

// The node's own services share the head raylet's server; their calls are not the head's.
bool NodeService(absl::string_view method) {
  return absl::StartsWith(method, "/weft.proto.NodeManager/") ||
         absl::StartsWith(method, "/weft.proto.NodeLogs/");
}

class RpcTimerInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcTimerInterceptor(HeadMetrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->RecordRpc(method_, absl::Now() - start_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  HeadMetrics* const metrics_;
  const std::string method_;
  const absl::Time start_;
};

class RpcTimerFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcTimerFactory(HeadMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // Streams (watches, log subscriptions, a job's keep-alive) last as long as their peer.
    if (info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) return nullptr;
    if (NodeService(info->method())) return nullptr;
    return new RpcTimerInterceptor(metrics_, info->method());
  }

 private:
  HeadMetrics* const metrics_;
};

std::string NodeStateName(proto::NodeState state) {
  return state == proto::NODE_ALIVE ? "alive" : state == proto::NODE_DEAD ? "dead" : "unknown";
}

}  // namespace

HeadMetrics::HeadMetrics()
    : rpc_registry_(std::make_shared<prometheus::Registry>()),
      rpc_seconds_(&prometheus::BuildHistogram()
                        .Name("weft_head_rpc_seconds")
                        .Help("Time the head took to answer a unary RPC, by method")
                        .Register(*rpc_registry_)),
      rpc_failed_(&prometheus::BuildCounter()
                       .Name("weft_head_rpc_failures_total")
                       .Help("Unary RPCs the head answered with an error, by method and code")
                       .Register(*rpc_registry_)) {}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> HeadMetrics::RpcTimer() {
  return std::make_unique<RpcTimerFactory>(this);
}

prometheus::Histogram& HeadMetrics::SecondsOf(const std::string& method) {
  absl::MutexLock lock(&mu_);
  auto [it, added] = seconds_.try_emplace(method, nullptr);
  if (added) it->second = &rpc_seconds_->Add(MethodLabels(method), kRpcBuckets);
  return *it->second;
}

void HeadMetrics::RecordRpc(const std::string& method, absl::Duration took, grpc::StatusCode code) {
  SecondsOf(method).Observe(absl::ToDoubleSeconds(took));
  if (code == grpc::StatusCode::OK) return;
  prometheus::Labels labels = MethodLabels(method);
  labels.emplace("code", std::to_string(code));
  rpc_failed_->Add(labels).Increment();  // the series these labels have, made at the first
}

std::vector<prometheus::MetricFamily> HeadMetrics::ClusterFamilies(
    const proto::ListNodesReply& nodes, const std::vector<proto::ActorInfo>& actors,
    const proto::ListJobsReply& jobs, absl::Time now) {
  prometheus::Registry registry;
  auto& node_count = prometheus::BuildGauge()
                         .Name("weft_nodes")
                         .Help("Nodes the head knows, by state")
                         .Register(registry);
  auto& total = prometheus::BuildGauge()
                    .Name("weft_node_resource_total")
                    .Help("A resource an alive node offers in all (CPU, memory bytes, custom)")
                    .Register(registry);
  auto& used = prometheus::BuildGauge()
                   .Name("weft_node_resource_used")
                   .Help("The part of a resource that actors and tasks hold now")
                   .Register(registry);
  auto& workers = prometheus::BuildGauge()
                      .Name("weft_node_workers")
                      .Help("Live worker processes of an alive node")
                      .Register(registry);
  auto& heartbeat = prometheus::BuildGauge()
                        .Name("weft_node_heartbeat_age_seconds")
                        .Help("Time since the head last heard from an alive node")
                        .Register(registry);
  auto& store = prometheus::BuildGauge()
                    .Name("weft_node_object_store_bytes")
                    .Help("A node's object store: used, capacity, peak and spilled bytes")
                    .Register(registry);
  auto& spills = prometheus::BuildGauge()
                     .Name("weft_node_object_spills")
                     .Help("Objects a node ever wrote to spill files (as of its heartbeat)")
                     .Register(registry);
  std::map<std::string, int> by_state = {{"alive", 0}, {"dead", 0}};
  for (const auto& node : nodes.nodes()) {
    ++by_state[NodeStateName(node.state())];
    if (node.state() != proto::NODE_ALIVE) continue;
    const prometheus::Labels labels = {{"node_id", node.node_id()}, {"host", node.hostname()}};
    auto with = [&](std::string key, std::string value) {
      prometheus::Labels more = labels;
      more.emplace(std::move(key), std::move(value));
      return more;
    };
    for (const auto& [name, amount] : node.total()) {
      total.Add(with("resource", name)).Set(amount);
      const auto free = node.available().find(name);
      used.Add(with("resource", name))
          .Set(amount - (free == node.available().end() ? 0 : free->second));
    }
    workers.Add(labels).Set(node.num_workers());
    heartbeat.Add(labels).Set(std::max(
        0.0, absl::ToDoubleSeconds(now - absl::FromUnixMillis(node.last_heartbeat_unix_ms()))));
    const auto& figures = node.object_store();
    for (const auto& [kind, bytes] :
         {std::pair{"used", figures.used_bytes()}, std::pair{"capacity", figures.capacity_bytes()},
          std::pair{"peak", figures.peak_bytes()}, std::pair{"spilled", figures.spilled_bytes()}}) {
      store.Add(with("kind", kind)).Set(static_cast<double>(bytes));
    }
    spills.Add(labels).Set(static_cast<double>(figures.spills()));
  }
  for (const auto& [state, count] : by_state) node_count.Add({{"state", state}}).Set(count);

  auto& actor_count = prometheus::BuildGauge()
                          .Name("weft_actors")
                          .Help("Actors the head knows, by state and class")
                          .Register(registry);
  std::map<std::pair<std::string, std::string>, int> actor_counts;
  for (const auto& actor : actors)
    ++actor_counts[{ActorStateName(actor.state()), actor.class_name()}];
  for (const auto& [key, count] : actor_counts) {
    actor_count.Add({{"state", key.first}, {"class_name", key.second}}).Set(count);
  }

  auto& job_count = prometheus::BuildGauge()
                        .Name("weft_jobs")
                        .Help("Jobs the head knows, by state")
                        .Register(registry);
  std::map<std::string, int> jobs_by_state = {{"RUNNING", 0}, {"FINISHED", 0},  {"FAILED", 0},
                                              {"PENDING", 0}, {"SUCCEEDED", 0}, {"STOPPED", 0}};
  for (const auto& job : jobs.jobs()) ++jobs_by_state[cli::JobStateName(job.state())];
  for (const auto& [state, count] : jobs_by_state) job_count.Add({{"state", state}}).Set(count);

  prometheus::BuildGauge()
      .Name("weft_scheduler_queued_leases")
      .Help("Requests for a worker waiting for resources in the head's scheduler")
      .Register(registry)
      .Add({})
      .Set(nodes.queued_leases());
  return registry.Collect();
}

absl::StatusOr<std::string> HeadMetrics::Scrape(const cli::HeadClient& head) const {
  auto nodes = head.ListNodes();
  if (!nodes.ok()) return nodes.status();
  auto actors = head.ListActors();
  if (!actors.ok()) return actors.status();
  auto jobs = head.ListJobs();
  if (!jobs.ok()) return jobs.status();
  auto families = ClusterFamilies(*nodes, *actors, *jobs, absl::Now());
  auto rpcs = RpcFamilies();
  families.insert(families.end(), std::make_move_iterator(rpcs.begin()),
                  std::make_move_iterator(rpcs.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace weft::dashboard
