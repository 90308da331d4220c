#include "raylet/dashboard/node_metrics.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "absl/strings/str_cat.h"
#include "cli/head_client.h"
#include "raylet/dashboard/dashboard_auth.h"

namespace weft::dashboard {
namespace {

constexpr std::chrono::milliseconds kWorkerTimeout{2000};

}  // namespace

absl::StatusOr<std::unique_ptr<NodeMetrics>> NodeMetrics::Start(NodeMetricsOptions options) {
  std::unique_ptr<NodeMetrics> metrics(new NodeMetrics(std::move(options)));
  const NodeMetrics* self = metrics.get();
  auto endpoint = HttpEndpoint::Start(metrics->options_.http, [self](httplib::Server& server) {
    server.Get("/metrics", [self](const httplib::Request& req, httplib::Response& res) {
      if (!Authorized(req.get_header_value("Authorization"), "", self->options_.auth->Accepted())) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"weft\"");
        return AnswerError(res, absl::UnauthenticatedError(
                                    "the cluster token is needed: Authorization: Bearer <token>"));
      }
      auto text = self->Scrape();
      if (!text.ok()) return AnswerError(res, text.status());
      res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
    });
  });
  if (!endpoint.ok()) return endpoint.status();
  metrics->endpoint_ = *std::move(endpoint);
  return metrics;
}

absl::StatusOr<std::string> NodeMetrics::Scrape() const {
  const auto node = cli::HeadClient::At(options_.node_address, options_.token);
  auto listed = node.ListWorkers(options_.node_address);
  if (!listed.ok()) return listed.status();
  std::vector<WorkerMethods> workers;
  std::vector<std::string> addresses;
  for (const auto& worker : listed->workers()) {
    if (worker.state() != proto::WORKER_ALIVE || worker.address().empty()) continue;
    workers.push_back({.worker = worker, .methods = {}});
    addresses.push_back(worker.address());
  }
  auto answers = node.MethodStats(addresses, kWorkerTimeout);
  for (size_t i = 0; i < workers.size(); ++i) {
    if (answers[i].ok()) workers[i].methods = *std::move(answers[i]);  // else: counted, no calls
  }
  return Render(options_.node_id, workers);
}

std::string NodeMetrics::Render(const std::string& node_id,
                                const std::vector<WorkerMethods>& workers) {
  prometheus::Registry registry;
  auto& received = prometheus::BuildCounter()
                       .Name("weft_calls_received_total")
                       .Help("Calls and tasks that reached a worker")
                       .Register(registry);
  auto& finished = prometheus::BuildCounter()
                       .Name("weft_calls_finished_total")
                       .Help("Calls and tasks answered (failed ones included)")
                       .Register(registry);
  auto& failed = prometheus::BuildCounter()
                     .Name("weft_calls_failed_total")
                     .Help("Calls and tasks answered with an error")
                     .Register(registry);
  auto& in_flight = prometheus::BuildGauge()
                        .Name("weft_calls_in_flight")
                        .Help("Calls and tasks received and not answered yet (queued or running)")
                        .Register(registry);
  auto& run_seconds = prometheus::BuildHistogram()
                          .Name("weft_call_run_seconds")
                          .Help("Time from a call's start to its answer")
                          .Register(registry);
  auto& queued_seconds = prometheus::BuildCounter()
                             .Name("weft_call_queued_seconds_total")
                             .Help("Time calls waited between their arrival and their start")
                             .Register(registry);
  auto& live = prometheus::BuildGauge()
                   .Name("weft_node_live_workers")
                   .Help("Worker processes alive on the node")
                   .Register(registry);
  live.Add({{"node_id", node_id}}).Set(static_cast<double>(workers.size()));
  for (const auto& w : workers) {
    for (const auto& m : w.methods.methods()) {
      const prometheus::Labels labels = {{"node_id", node_id},
                                         {"worker", std::to_string(w.worker.pid())},
                                         {"class", m.class_name()},
                                         {"method", m.method()}};
      received.Add(labels).Increment(static_cast<double>(m.received()));
      finished.Add(labels).Increment(static_cast<double>(m.finished()));
      failed.Add(labels).Increment(static_cast<double>(m.failed()));
      in_flight.Add(labels).Set(static_cast<double>(m.received() - m.finished()));
      queued_seconds.Add(labels).Increment(m.queued_sum_seconds());
      const prometheus::Histogram::BucketBoundaries bounds(m.latency_bounds_seconds().begin(),
                                                           m.latency_bounds_seconds().end());
      if (m.latency_counts_size() != static_cast<int>(bounds.size()) + 1) continue;
      std::vector<double> counts(m.latency_counts().begin(), m.latency_counts().end());
      run_seconds.Add(labels, bounds).ObserveMultiple(counts, m.latency_sum_seconds());
    }
  }
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

std::string NodeMetrics::Targets(const proto::ListNodesReply& nodes) {
  google::protobuf::ListValue groups;
  for (const auto& node : nodes.nodes()) {
    if (node.state() != proto::NODE_ALIVE || node.metrics_address().empty()) continue;
    google::protobuf::Struct group;
    auto& fields = *group.mutable_fields();
    fields["targets"].mutable_list_value()->add_values()->set_string_value(node.metrics_address());
    auto& labels = *fields["labels"].mutable_struct_value()->mutable_fields();
    labels["hostname"].set_string_value(node.hostname());
    *groups.add_values()->mutable_struct_value() = std::move(group);
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(groups, &json);
  return json + "\n";
}

}  // namespace weft::dashboard
