#include "raylet/dashboard/head_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <limits>

#include "tests/prometheus_text.h"

namespace weft::dashboard {
namespace {

using testing::ParsePrometheusText;
using testing::SampleValue;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

proto::NodeInfo Node(const std::string& id, proto::NodeState state, double cpus, double free) {
  proto::NodeInfo node;
  node.set_node_id(id);
  node.set_hostname("host-" + id);
  node.set_state(state);
  (*node.mutable_total())["CPU"] = cpus;
  (*node.mutable_available())["CPU"] = free;
  node.set_num_workers(3);
  node.set_last_heartbeat_unix_ms(absl::ToUnixMillis(kNow - absl::Milliseconds(1500)));
  node.mutable_object_store()->set_used_bytes(1 << 20);
  node.mutable_object_store()->set_capacity_bytes(1 << 30);
  return node;
}

proto::ActorInfo Actor(const std::string& class_name, proto::ActorState state) {
  proto::ActorInfo actor;
  actor.set_class_name(class_name);
  actor.set_state(state);
  return actor;
}

TEST(HeadMetricsTest, TheClusterTablesBecomeGaugesInPrometheusTextFormat) {
  proto::ListNodesReply nodes;
  *nodes.add_nodes() = Node("n1", proto::NODE_ALIVE, 4, 1);
  *nodes.add_nodes() = Node("n2", proto::NODE_DEAD, 2, 2);
  nodes.set_queued_leases(5);
  const std::vector<proto::ActorInfo> actors = {
      Actor("Counter", proto::ACTOR_ALIVE), Actor("Counter", proto::ACTOR_ALIVE),
      Actor("Counter", proto::ACTOR_DEAD), Actor("Gate", proto::ACTOR_PENDING)};
  proto::ListJobsReply jobs;
  jobs.add_jobs()->set_state(proto::JOB_RUNNING);
  jobs.add_jobs()->set_state(proto::JOB_FAILED);

  const std::string text = prometheus::TextSerializer().Serialize(
      HeadMetrics::ClusterFamilies(nodes, actors, jobs, kNow));
  auto samples = ParsePrometheusText(text);
  ASSERT_TRUE(samples.ok()) << samples.status() << "\n" << text;
  EXPECT_EQ(SampleValue(*samples, "weft_nodes", {{"state", "alive"}}), 1);
  EXPECT_EQ(SampleValue(*samples, "weft_nodes", {{"state", "dead"}}), 1);
  EXPECT_EQ(SampleValue(*samples, "weft_node_resource_total",
                        {{"node_id", "n1"}, {"host", "host-n1"}, {"resource", "CPU"}}),
            4);
  EXPECT_EQ(SampleValue(*samples, "weft_node_resource_used", {{"node_id", "n1"}}), 3);
  EXPECT_EQ(SampleValue(*samples, "weft_node_resource_total", {{"node_id", "n2"}}), -1)
      << "a dead node offers nothing";
  EXPECT_EQ(SampleValue(*samples, "weft_node_workers", {{"node_id", "n1"}}), 3);
  EXPECT_DOUBLE_EQ(SampleValue(*samples, "weft_node_heartbeat_age_seconds", {{"node_id", "n1"}}),
                   1.5);
  EXPECT_EQ(SampleValue(*samples, "weft_node_object_store_bytes",
                        {{"node_id", "n1"}, {"kind", "capacity"}}),
            1 << 30);
  EXPECT_EQ(SampleValue(*samples, "weft_actors", {{"state", "ALIVE"}, {"class_name", "Counter"}}),
            2);
  EXPECT_EQ(SampleValue(*samples, "weft_actors", {{"state", "DEAD"}, {"class_name", "Counter"}}),
            1);
  EXPECT_EQ(SampleValue(*samples, "weft_actors", {{"state", "PENDING"}, {"class_name", "Gate"}}),
            1);
  EXPECT_EQ(SampleValue(*samples, "weft_jobs", {{"state", "RUNNING"}}), 1);
  EXPECT_EQ(SampleValue(*samples, "weft_jobs", {{"state", "FAILED"}}), 1);
  EXPECT_EQ(SampleValue(*samples, "weft_jobs", {{"state", "FINISHED"}}), 0);
  EXPECT_EQ(SampleValue(*samples, "weft_scheduler_queued_leases"), 5);
}

TEST(HeadMetricsTest, LabelValuesAreEscaped) {
  const std::vector<proto::ActorInfo> actors = {Actor("ns::Weird\"Class\\\n", proto::ACTOR_ALIVE)};
  const std::string text =
      prometheus::TextSerializer().Serialize(HeadMetrics::ClusterFamilies({}, actors, {}, kNow));
  auto samples = ParsePrometheusText(text);
  ASSERT_TRUE(samples.ok()) << samples.status() << "\n" << text;
  EXPECT_EQ(SampleValue(*samples, "weft_actors", {{"class_name", "ns::Weird\"Class\\\n"}}), 1);
}

TEST(HeadMetricsTest, RpcTimesAreHistogramsByServiceAndMethod) {
  HeadMetrics metrics;
  metrics.RecordRpc("/weft.proto.NodeDirectory/Heartbeat", absl::Microseconds(300),
                    grpc::StatusCode::OK);
  metrics.RecordRpc("/weft.proto.NodeDirectory/Heartbeat", absl::Milliseconds(30),
                    grpc::StatusCode::OK);
  metrics.RecordRpc("/weft.proto.ActorDirectory/GetActor", absl::Microseconds(50),
                    grpc::StatusCode::NOT_FOUND);
  const std::string text = prometheus::TextSerializer().Serialize(metrics.RpcFamilies());
  auto samples = ParsePrometheusText(text);
  ASSERT_TRUE(samples.ok()) << samples.status() << "\n" << text;
  const std::map<std::string, std::string> heartbeat = {{"service", "weft.proto.NodeDirectory"},
                                                        {"method", "Heartbeat"}};
  EXPECT_EQ(SampleValue(*samples, "weft_head_rpc_seconds_count", heartbeat), 2);
  EXPECT_NEAR(SampleValue(*samples, "weft_head_rpc_seconds_sum", heartbeat), 0.0303, 1e-9);
  // Calls at or under each bound (bounds compared as numbers, whatever digits print them).
  auto le = [&](double bound) {
    for (const auto& sample : *samples) {
      if (sample.name == "weft_head_rpc_seconds_bucket" &&
          sample.labels.at("method") == "Heartbeat" && std::stod(sample.labels.at("le")) == bound) {
        return sample.value;
      }
    }
    return -1.0;
  };
  EXPECT_EQ(le(0.0005), 1);
  EXPECT_EQ(le(0.05), 2);
  EXPECT_EQ(le(std::numeric_limits<double>::infinity()), 2);
  EXPECT_EQ(SampleValue(*samples, "weft_head_rpc_failures_total",
                        {{"method", "GetActor"}, {"code", "5"}}),
            1);
  EXPECT_EQ(SampleValue(*samples, "weft_head_rpc_failures_total", {{"method", "Heartbeat"}}), -1);
}

}  // namespace
}  // namespace weft::dashboard
