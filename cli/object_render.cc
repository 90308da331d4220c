#include "cli/object_render.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace weft::cli {
namespace {

// Every location holds the same bytes: the first one that knows the size tells it.
int64_t SizeOf(const proto::ObjectInfo& object) {
  for (const auto& location : object.locations()) {
    if (location.size_bytes() > 0) return location.size_bytes();
  }
  return 0;
}

std::string Locations(const proto::ObjectInfo& object) {
  if (object.locations().empty()) return "-";
  return absl::StrJoin(object.locations(), ",", [](std::string* out, const auto& location) {
    absl::StrAppend(out, location.node_id(), "/", location.address());
  });
}

google::protobuf::Value Text(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

}  // namespace

std::string HumanBytes(int64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = bytes / 1024.0;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string RenderObjectsTable(const proto::ListObjectsReply& reply) {
  constexpr char kRow[] = "%-32s %-10s %-16s %s\n";
  std::string out = absl::StrFormat(kRow, "OBJECT_ID", "SIZE", "OWNER", "LOCATION");
  for (const auto& object : reply.objects()) {
    absl::StrAppend(
        &out, absl::StrFormat(kRow, object.object_id(), HumanBytes(SizeOf(object)),
                              object.owner().empty() ? "-" : object.owner(), Locations(object)));
  }
  return out;
}

std::string RenderObjectsJson(const proto::ListObjectsReply& reply) {
  google::protobuf::ListValue list;
  for (const auto& object : reply.objects()) {
    auto& fields = *list.add_values()->mutable_struct_value()->mutable_fields();
    fields["object_id"] = Text(object.object_id());
    fields["owner"] = Text(object.owner());
    fields["size_bytes"].set_number_value(static_cast<double>(SizeOf(object)));
    auto& locations = *fields["locations"].mutable_list_value();
    for (const auto& location : object.locations()) {
      auto& where = *locations.add_values()->mutable_struct_value()->mutable_fields();
      where["node_id"] = Text(location.node_id());
      where["worker_id"] = Text(location.worker_id());
      where["address"] = Text(location.address());
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(list, &json, options);
  return json;
}

}  // namespace weft::cli
