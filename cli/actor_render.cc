#include "cli/actor_render.h"

#include <google/protobuf/struct.pb.h>

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/format.h"
#include "common/actor_listing.h"

namespace weft::cli {
namespace {

using google::protobuf::Value;

Value Text(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}
Value Number(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}
Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}
Value Null() {
  Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}
Value CountOrNull(bool known, int64_t count) { return known ? Number(count) : Null(); }

// Every field of a row, in the order `weft get actor` prints them.
std::vector<std::pair<std::string, Value>> Fields(const ActorRow& row) {
  const proto::ActorInfo& a = row.info;
  const bool known = row.stats.has_value();
  Value resources;
  for (const auto& [name, amount] : std::map(a.resources().begin(), a.resources().end())) {
    (*resources.mutable_struct_value()->mutable_fields())[name] = Number(amount);
  }
  if (!resources.has_struct_value()) resources.mutable_struct_value();
  return {{"actor_id", Text(a.actor_id())},
          {"class_name", Text(a.class_name())},
          {"name", Text(a.name())},
          {"namespace", Text(a.namespace_())},
          {"state", Text(ActorStateName(a.state()))},
          {"pending_reason", Text(a.pending_reason())},
          {"death_reason", Text(a.death_reason())},
          {"job_id", Text(a.job_id())},
          {"node_id", Text(a.node_id())},
          {"worker_id", Text(a.worker_id())},
          {"address", Text(a.address())},
          {"pid", Number(a.pid())},
          {"executor", Text(a.executor())},
          {"max_concurrency", Number(a.max_concurrency())},
          {"running", CountOrNull(known, known ? row.stats->running() : 0)},
          {"queued", CountOrNull(known, known ? row.stats->queued() : 0)},
          {"finished", CountOrNull(known, known ? row.stats->finished() : 0)},
          {"num_restarts", Number(a.num_restarts())},
          {"detached", Bool(a.detached())},
          {"resources", resources},
          {"created_unix_ms", Number(static_cast<double>(a.created_unix_ms()))}};
}

// A value as a table cell or a details line: `-` for empty strings, zero pids and nulls.
std::string Plain(const std::string& key, const Value& v) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      return v.string_value().empty() ? "-" : v.string_value();
    case Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case Value::kNumberValue:
      if ((key == "pid" || key == "max_concurrency" || key == "created_unix_ms") &&
          v.number_value() == 0)
        return "-";
      return absl::StrFormat("%.15g", v.number_value());
    case Value::kStructValue: {
      std::map<std::string, double> sorted;
      for (const auto& [name, amount] : v.struct_value().fields()) {
        sorted[name] = amount.number_value();
      }
      if (sorted.empty()) return "-";
      return absl::StrJoin(sorted, " ", [](std::string* out, const auto& entry) {
        absl::StrAppend(out, entry.first, "=", absl::StrFormat("%g", entry.second));
      });
    }
    default:
      return "-";
  }
}

google::protobuf::Struct ToStruct(const ActorRow& row) {
  google::protobuf::Struct s;
  for (auto& [key, value] : Fields(row)) (*s.mutable_fields())[key] = std::move(value);
  return s;
}

// The reason column: why a PENDING actor waits or why a DEAD one died.
std::string Reason(const proto::ActorInfo& a) {
  if (a.state() == proto::ACTOR_PENDING && !a.pending_reason().empty()) return a.pending_reason();
  if (a.state() == proto::ACTOR_DEAD && !a.death_reason().empty()) return a.death_reason();
  return "-";
}

}  // namespace

std::string RenderActorsTable(const std::vector<ActorRow>& rows) {
  constexpr char kRow[] = "%-16s %-14s %-14s %-10s %-16s %-7s %-11s %-8s %-7s %-6s %-8s %s\n";
  std::string out =
      absl::StrFormat(kRow, "ACTOR_ID", "CLASS", "NAME", "STATE", "NODE", "PID", "EXECUTOR",
                      "MAX_CONC", "RUNNING", "QUEUED", "RESTARTS", "REASON");
  for (const auto& row : rows) {
    std::map<std::string, std::string> cell;
    for (const auto& [key, value] : Fields(row)) cell[key] = Plain(key, value);
    absl::StrAppend(
        &out,
        absl::StrFormat(kRow, cell["actor_id"], cell["class_name"], cell["name"], cell["state"],
                        cell["node_id"], cell["pid"], cell["executor"], cell["max_concurrency"],
                        cell["running"], cell["queued"], cell["num_restarts"], Reason(row.info)));
  }
  return out;
}

std::string RenderActorsJson(const std::vector<ActorRow>& rows) {
  google::protobuf::ListValue list;
  for (const auto& row : rows) *list.add_values()->mutable_struct_value() = ToStruct(row);
  return ToJson(list);
}

std::string RenderActorDetails(const ActorRow& row) {
  std::string out;
  for (const auto& [key, value] : Fields(row)) {
    absl::StrAppend(&out, absl::StrFormat("%-16s %s\n", key + ":", Plain(key, value)));
  }
  return out;
}

std::string RenderActorJson(const ActorRow& row) { return ToJson(ToStruct(row)); }

}  // namespace weft::cli
