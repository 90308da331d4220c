#include "raylet/dashboard/node_metrics.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "tests/prometheus_text.h"

namespace weft::dashboard {
namespace {

using testing::ParsePrometheusText;
using testing::SampleValue;

proto::MethodStats Method(const std::string& cls, const std::string& method, int64_t received,
                          int64_t finished, int64_t failed, std::vector<int64_t> counts,
                          double sum) {
  proto::MethodStats m;
  m.set_class_name(cls);
  m.set_method(method);
  m.set_received(received);
  m.set_finished(finished);
  m.set_failed(failed);
  for (double bound : {0.001, 0.01, 0.1}) m.add_latency_bounds_seconds(bound);
  for (int64_t count : counts) m.add_latency_counts(count);
  m.set_latency_sum_seconds(sum);
  m.set_queued_sum_seconds(0.5);
  return m;
}

WorkerMethods Worker(int pid, std::vector<proto::MethodStats> methods) {
  WorkerMethods w;
  w.worker.set_pid(pid);
  for (auto& m : methods) *w.methods.add_methods() = std::move(m);
  return w;
}

TEST(NodeMetricsTest, EachWorkersMethodsBecomeCountersAndARunTimeHistogram) {
  const std::string text = NodeMetrics::Render(
      "node-1", {Worker(11, {Method("Counter", "Incr", 7, 6, 1, {2, 3, 1, 0}, 0.02)}),
                 Worker(12, {Method("", "square", 4, 4, 0, {4, 0, 0, 0}, 0.001)}), Worker(13, {})});
  auto samples = ParsePrometheusText(text);
  ASSERT_TRUE(samples.ok()) << samples.status() << "\n" << text;
  const std::map<std::string, std::string> incr = {
      {"node_id", "node-1"}, {"worker", "11"}, {"class", "Counter"}, {"method", "Incr"}};
  EXPECT_EQ(SampleValue(*samples, "weft_calls_received_total", incr), 7);
  EXPECT_EQ(SampleValue(*samples, "weft_calls_finished_total", incr), 6);
  EXPECT_EQ(SampleValue(*samples, "weft_calls_failed_total", incr), 1);
  EXPECT_EQ(SampleValue(*samples, "weft_calls_in_flight", incr), 1);
  EXPECT_EQ(SampleValue(*samples, "weft_call_queued_seconds_total", incr), 0.5);
  // Prometheus buckets are cumulative: le="0.01" holds the 2 calls up to 1 ms and the 3 up to 10.
  auto bucket = incr;
  bucket["le"] = "0.01";
  EXPECT_EQ(SampleValue(*samples, "weft_call_run_seconds_bucket", bucket), 5);
  bucket["le"] = "+Inf";
  EXPECT_EQ(SampleValue(*samples, "weft_call_run_seconds_bucket", bucket), 6);
  EXPECT_EQ(SampleValue(*samples, "weft_call_run_seconds_count", incr), 6);
  EXPECT_DOUBLE_EQ(SampleValue(*samples, "weft_call_run_seconds_sum", incr), 0.02);

  EXPECT_EQ(SampleValue(*samples, "weft_calls_finished_total",
                        {{"worker", "12"}, {"class", ""}, {"method", "square"}}),
            4);
  EXPECT_EQ(SampleValue(*samples, "weft_node_live_workers", {{"node_id", "node-1"}}), 3);
}

TEST(NodeMetricsTest, NoWorkersIsValidTextWithNoCalls) {
  const std::string text = NodeMetrics::Render("node-1", {});
  auto samples = ParsePrometheusText(text);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(SampleValue(*samples, "weft_node_live_workers"), 0);
  EXPECT_EQ(SampleValue(*samples, "weft_calls_received_total"), -1);
}

TEST(NodeMetricsTest, TargetsListTheAliveNodesThatServeMetricsForHttpServiceDiscovery) {
  proto::ListNodesReply nodes;
  auto add = [&](const std::string& id, proto::NodeState state, const std::string& metrics) {
    auto& node = *nodes.add_nodes();
    node.set_node_id(id);
    node.set_hostname("host-" + id);
    node.set_state(state);
    node.set_metrics_address(metrics);
  };
  add("a", proto::NODE_ALIVE, "10.0.0.1:9100");
  add("b", proto::NODE_DEAD, "10.0.0.2:9100");
  add("c", proto::NODE_ALIVE, "");  // --metrics-port -1
  add("d", proto::NODE_ALIVE, "[::1]:9101");
  google::protobuf::ListValue groups;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(NodeMetrics::Targets(nodes), &groups).ok());
  ASSERT_EQ(groups.values_size(), 2);
  const auto& first = groups.values(0).struct_value().fields();
  ASSERT_EQ(first.at("targets").list_value().values_size(), 1);
  EXPECT_EQ(first.at("targets").list_value().values(0).string_value(), "10.0.0.1:9100");
  EXPECT_EQ(first.at("labels").struct_value().fields().at("hostname").string_value(), "host-a");
  EXPECT_EQ(
      groups.values(1).struct_value().fields().at("targets").list_value().values(0).string_value(),
      "[::1]:9101");
}

}  // namespace
}  // namespace weft::dashboard
