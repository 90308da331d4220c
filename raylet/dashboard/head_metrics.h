#pragma once

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cli/head_client.h"
#include "head.pb.h"

namespace weft::dashboard {

// The head's Prometheus metrics (served at /metrics by the dashboard): the cluster as its
// tables say at scrape time (nodes and their resources, workers, object stores and heartbeat
// age; actors by state and class; jobs by state; leases waiting for resources), and how long
// the head takes to answer each unary RPC (recorded as calls finish, by a server interceptor).
class HeadMetrics {
 public:
  HeadMetrics();

  // For the head's gRPC server (ServerBuilder::experimental().SetInterceptorCreators): times
  // every unary call of the head's services. Keeps a pointer to this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcTimer();

  // The metrics in Prometheus's text format, the cluster's asked of `head` now.
  [[nodiscard]] absl::StatusOr<std::string> Scrape(const cli::HeadClient& head) const;

  // The cluster's gauges from the head's replies, as of `now` (no I/O).
  static std::vector<prometheus::MetricFamily> ClusterFamilies(
      const proto::ListNodesReply& nodes, const std::vector<proto::ActorInfo>& actors,
      const proto::ListJobsReply& jobs, absl::Time now);

  // The RPC histograms and failure counters recorded so far.
  std::vector<prometheus::MetricFamily> RpcFamilies() const { return rpc_registry_->Collect(); }

  // Records one finished call of `method` ("/weft.proto.NodeDirectory/Heartbeat").
  void RecordRpc(const std::string& method, absl::Duration took, grpc::StatusCode code);

 private:
  // The histogram of `method`, made at its first call.
  prometheus::Histogram& SecondsOf(const std::string& method);

  std::shared_ptr<prometheus::Registry> rpc_registry_;
  prometheus::Family<prometheus::Histogram>* rpc_seconds_;
  prometheus::Family<prometheus::Counter>* rpc_failed_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Histogram*> seconds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::dashboard
