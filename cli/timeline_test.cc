#include "cli/timeline.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace weft::cli {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

proto::CallEvent Call(std::string actor, std::string cls, std::string method, int64_t arrived,
                      int64_t started, int64_t finished, bool failed = false) {
  proto::CallEvent call;
  call.set_actor_id(std::move(actor));
  call.set_class_name(std::move(cls));
  call.set_method(std::move(method));
  call.set_arrived_us(arrived);
  call.set_started_us(started);
  call.set_finished_us(finished);
  call.set_failed(failed);
  return call;
}

WorkerCalls Worker(const std::string& node, int pid, std::vector<proto::CallEvent> calls) {
  WorkerCalls w;
  w.node.set_node_id(node);
  w.node.set_address("127.0.0.1:1");
  w.worker.set_worker_id("worker-" + std::to_string(pid));
  w.worker.set_pid(pid);
  for (auto& call : calls) *w.calls.add_events() = std::move(call);
  return w;
}

Struct Parse(const std::string& json) {
  Struct trace;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &trace);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << json;
  return trace;
}

const google::protobuf::Map<std::string, Value>& Fields(const Value& v) {
  return v.struct_value().fields();
}

std::vector<Value> EventsOf(const Struct& trace, const std::string& ph) {
  std::vector<Value> out;
  for (const auto& event : trace.fields().at("traceEvents").list_value().values()) {
    if (Fields(event).at("ph").string_value() == ph) out.push_back(event);
  }
  return out;
}

TEST(TimelineTest, OneCompleteEventPerCallNamedByClassAndMethodInMicrosecondsFromTheFirst) {
  const Struct trace = Parse(RenderTimeline({
      Worker("n1", 100,
             {Call("a1", "Counter", "Incr", 1'000'000, 1'000'010, 1'000'110),
              Call("", "", "square", 1'000'200, 1'000'500, 1'001'500, true)}),
  }));
  const auto calls = EventsOf(trace, "X");
  ASSERT_EQ(calls.size(), 2u);
  const auto& incr = Fields(calls[0]);
  EXPECT_EQ(incr.at("name").string_value(), "Counter.Incr");
  EXPECT_EQ(incr.at("cat").string_value(), "actor_call");
  EXPECT_EQ(incr.at("ts").number_value(), 0);
  EXPECT_EQ(incr.at("dur").number_value(), 100);
  EXPECT_EQ(Fields(incr.at("args")).at("queued_us").number_value(), 10);
  EXPECT_EQ(Fields(incr.at("args")).at("actor_id").string_value(), "a1");
  EXPECT_FALSE(Fields(incr.at("args")).at("failed").bool_value());
  const auto& square = Fields(calls[1]);
  EXPECT_EQ(square.at("name").string_value(), "square");
  EXPECT_EQ(square.at("cat").string_value(), "task");
  EXPECT_EQ(square.at("ts").number_value(), 490);
  EXPECT_EQ(square.at("dur").number_value(), 1000);
  EXPECT_TRUE(Fields(square.at("args")).at("failed").bool_value());
  EXPECT_EQ(Fields(trace.fields().at("otherData")).at("start_unix_us").number_value(), 1'000'010);
}

TEST(TimelineTest, OverlappingCallsOfOneWorkerGoToRowsOfTheirOwn) {
  // Two calls at once on a threaded actor, then a third after both.
  const Struct trace = Parse(RenderTimeline(
      {Worker("n1", 7,
              {Call("a", "Pool", "Work", 0, 10, 100), Call("a", "Pool", "Work", 0, 20, 90),
               Call("a", "Pool", "Work", 0, 100, 150)})}));
  std::map<double, std::vector<double>> starts_by_row;
  for (const auto& call : EventsOf(trace, "X")) {
    starts_by_row[Fields(call).at("tid").number_value()].push_back(
        Fields(call).at("ts").number_value());
  }
  ASSERT_EQ(starts_by_row.size(), 2u);
  EXPECT_EQ(starts_by_row.begin()->second, (std::vector<double>{0, 90}));
  EXPECT_EQ(starts_by_row.rbegin()->second, (std::vector<double>{10}));
  std::set<std::string> rows;
  for (const auto& meta : EventsOf(trace, "M")) {
    if (Fields(meta).at("name").string_value() == "thread_name") {
      rows.insert(Fields(Fields(meta).at("args")).at("name").string_value());
    }
  }
  EXPECT_EQ(rows, (std::set<std::string>{"worker 7", "worker 7 #2"}));
}

TEST(TimelineTest, AProcessPerNodeAndACallThatNeverRanStartsAtItsArrival) {
  const Struct trace = Parse(RenderTimeline({
      Worker("n1", 1, {Call("a", "A", "f", 50, 60, 70)}),
      Worker("n2", 2, {Call("b", "B", "g", 40, 0, 45, true)}),
      Worker("n1", 3, {}),
  }));
  std::map<double, std::string> processes;
  for (const auto& meta : EventsOf(trace, "M")) {
    if (Fields(meta).at("name").string_value() == "process_name") {
      processes[Fields(meta).at("pid").number_value()] =
          Fields(Fields(meta).at("args")).at("name").string_value();
    }
  }
  EXPECT_EQ(processes.size(), 2u);
  EXPECT_EQ(processes[1], "node n1 127.0.0.1:1");
  EXPECT_EQ(processes[2], "node n2 127.0.0.1:1");
  const auto calls = EventsOf(trace, "X");
  ASSERT_EQ(calls.size(), 2u);
  const auto& never_ran = Fields(calls[1]);
  EXPECT_EQ(never_ran.at("pid").number_value(), 2);
  EXPECT_EQ(never_ran.at("ts").number_value(), 0);
  EXPECT_EQ(never_ran.at("dur").number_value(), 5);
  EXPECT_FALSE(Fields(never_ran.at("args")).at("ran").bool_value());
}

TEST(TimelineTest, NoCallsIsAnEmptyValidTrace) {
  const Struct trace = Parse(RenderTimeline({}));
  EXPECT_TRUE(EventsOf(trace, "X").empty());
}

}  // namespace
}  // namespace weft::cli
