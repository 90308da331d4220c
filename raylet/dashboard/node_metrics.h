#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "head.pb.h"
#include "raylet/dashboard/http_endpoint.h"
#include "worker.pb.h"

namespace weft::dashboard {

// What one worker ran, per class and method (Worker.GetMethodStats).
struct WorkerMethods {
  proto::WorkerInfo worker;
  proto::GetMethodStatsReply methods;
};

struct NodeMetricsOptions {
  HttpEndpointOptions http;         // the node's --host, --metrics-port, TLS files
  const TokenAuth* auth = nullptr;  // who may scrape: `Authorization: Bearer <token>`
  std::string node_id;
  std::string node_address;  // its NodeManager, asked for its workers at every scrape
  std::string token;         // for that and the workers' RPCs
};

// A node's Prometheus endpoint (GET /metrics, the cluster token as a bearer token): the calls
// its live workers answered, per actor class and method (a task: its function, class ""), and
// per worker (label `worker`, its pid: a worker's counters end with it, they never go back):
//
//   weft_calls_received_total, weft_calls_finished_total, weft_calls_failed_total  counters
//   weft_calls_in_flight            gauge: received, not answered yet (queued or running)
//   weft_call_run_seconds           histogram: start to answer of the calls that ran
//   weft_call_queued_seconds_total  counter: arrival to start, summed over calls that ran
//   weft_node_live_workers          gauge
//
// Every series has the node's id (label `node_id`). The head's dashboard lists each node's
// endpoint for Prometheus's HTTP service discovery (/api/prometheus_targets).
class NodeMetrics {
 public:
  // Binds and starts serving (errors as HttpEndpoint::Start's).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NodeMetrics>> Start(
      NodeMetricsOptions options);

  int port() const { return endpoint_->port(); }

  // The text Prometheus reads, of these workers' figures (no I/O).
  static std::string Render(const std::string& node_id, const std::vector<WorkerMethods>& workers);

  // Prometheus's HTTP service discovery (http_sd_configs) of the alive nodes' endpoints: JSON
  // [{"targets": ["host:port"], "labels": {"hostname": ...}}, ...] (their series carry the
  // node's id already).
  static std::string Targets(const proto::ListNodesReply& nodes);

 private:
  explicit NodeMetrics(NodeMetricsOptions options) : options_(std::move(options)) {}
  // Asks the node for its live workers and each of them for its figures.
  absl::StatusOr<std::string> Scrape() const;

  const NodeMetricsOptions options_;
  std::unique_ptr<HttpEndpoint> endpoint_;
};

}  // namespace weft::dashboard
