#include "cli/timeline.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace weft::cli {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

Value Number(double number) {
  Value value;
  value.set_number_value(number);
  return value;
}

Value Text(std::string text) {
  Value value;
  value.set_string_value(std::move(text));
  return value;
}

// A metadata event ("ph": "M") that names a process or a row.
Struct Metadata(const std::string& what, int pid, int tid, const std::string& name) {
  Struct event;
  auto& f = *event.mutable_fields();
  f["ph"] = Text("M");
  f["name"] = Text(what);
  f["pid"] = Number(pid);
  if (tid != 0) f["tid"] = Number(tid);
  Value args;
  (*args.mutable_struct_value()->mutable_fields())["name"] = Text(name);
  f["args"] = std::move(args);
  return event;
}

int64_t StartOf(const proto::CallEvent& call) {
  return call.started_us() != 0 ? call.started_us() : call.arrived_us();
}

Struct CallEventOf(const proto::CallEvent& call, const proto::WorkerInfo& worker, int pid, int tid,
                   int64_t origin_us) {
  Struct event;
  auto& f = *event.mutable_fields();
  const bool task = call.actor_id().empty();
  f["ph"] = Text("X");
  f["name"] = Text(task ? call.method() : absl::StrCat(call.class_name(), ".", call.method()));
  f["cat"] = Text(task ? "task" : "actor_call");
  f["pid"] = Number(pid);
  f["tid"] = Number(tid);
  f["ts"] = Number(static_cast<double>(StartOf(call) - origin_us));
  f["dur"] = Number(static_cast<double>(std::max<int64_t>(0, call.finished_us() - StartOf(call))));
  Value args;
  auto& a = *args.mutable_struct_value()->mutable_fields();
  if (!task) a["actor_id"] = Text(call.actor_id());
  a["worker_id"] = Text(worker.worker_id());
  a["worker_pid"] = Number(worker.pid());
  if (!call.name().empty()) a["call_name"] = Text(call.name());
  a["ran"] = Value();
  a["ran"].set_bool_value(call.started_us() != 0);
  a["queued_us"] = Number(static_cast<double>(
      call.started_us() != 0 ? std::max<int64_t>(0, call.started_us() - call.arrived_us()) : 0));
  a["failed"] = Value();
  a["failed"].set_bool_value(call.failed());
  f["args"] = std::move(args);
  return event;
}

}  // namespace

std::string RenderTimeline(const std::vector<WorkerCalls>& workers) {
  int64_t origin_us = std::numeric_limits<int64_t>::max();
  int64_t dropped = 0;
  for (const auto& w : workers) {
    dropped += w.calls.dropped();
    for (const auto& call : w.calls.events()) origin_us = std::min(origin_us, StartOf(call));
  }
  if (origin_us == std::numeric_limits<int64_t>::max()) origin_us = 0;

  google::protobuf::ListValue events;
  std::vector<std::string> node_ids;  // index + 1 is the node's pid in the trace
  int next_tid = 1;
  for (const auto& w : workers) {
    auto node = std::find(node_ids.begin(), node_ids.end(), w.node.node_id());
    const int pid = static_cast<int>(node - node_ids.begin()) + 1;
    if (node == node_ids.end()) {
      node_ids.push_back(w.node.node_id());
      *events.add_values()->mutable_struct_value() = Metadata(
          "process_name", pid, 0, absl::StrCat("node ", w.node.node_id(), " ", w.node.address()));
    }
    // Earliest first, each on the first row of this worker that is free by its start.
    std::vector<const proto::CallEvent*> calls;
    for (const auto& call : w.calls.events()) calls.push_back(&call);
    std::stable_sort(calls.begin(), calls.end(),
                     [](auto* a, auto* b) { return StartOf(*a) < StartOf(*b); });
    std::vector<int64_t> row_ends;
    const int first_tid = next_tid;
    for (const auto* call : calls) {
      size_t row = 0;
      while (row < row_ends.size() && row_ends[row] > StartOf(*call)) ++row;
      if (row == row_ends.size()) row_ends.push_back(0);
      row_ends[row] = std::max(StartOf(*call), call->finished_us());
      *events.add_values()->mutable_struct_value() =
          CallEventOf(*call, w.worker, pid, first_tid + static_cast<int>(row), origin_us);
    }
    const size_t rows = std::max<size_t>(1, row_ends.size());
    for (size_t row = 0; row < rows; ++row) {
      std::string name = absl::StrCat("worker ", w.worker.pid());
      if (row > 0) absl::StrAppend(&name, " #", row + 1);
      *events.add_values()->mutable_struct_value() =
          Metadata("thread_name", pid, first_tid + static_cast<int>(row), name);
    }
    next_tid += static_cast<int>(rows);
  }

  Struct trace;
  auto& f = *trace.mutable_fields();
  *f["traceEvents"].mutable_list_value() = std::move(events);
  f["displayTimeUnit"] = Text("ms");
  Value other;
  auto& o = *other.mutable_struct_value()->mutable_fields();
  o["start_unix_us"] = Number(static_cast<double>(origin_us));
  o["dropped"] = Number(static_cast<double>(dropped));
  f["otherData"] = std::move(other);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(trace, &json);
  return json + "\n";
}

}  // namespace weft::cli
