#include "cli/object_render.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/format.h"

namespace weft::cli {
namespace {

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

// Every location holds the same bytes: the first one that knows the size tells it.
int64_t ObjectSize(const proto::ObjectInfo& object) {
  for (const auto& location : object.locations()) {
    if (location.size_bytes() > 0) return location.size_bytes();
  }
  return 0;
}

google::protobuf::Value ObjectJson(const proto::ObjectInfo& object) {
  google::protobuf::Value value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["object_id"] = Text(object.object_id());
  fields["owner"] = Text(object.owner());
  fields["size_bytes"].set_number_value(static_cast<double>(ObjectSize(object)));
  auto& locations = *fields["locations"].mutable_list_value();
  for (const auto& location : object.locations()) {
    auto& where = *locations.add_values()->mutable_struct_value()->mutable_fields();
    where["node_id"] = Text(location.node_id());
    where["worker_id"] = Text(location.worker_id());
    where["address"] = Text(location.address());
  }
  return value;
}

std::string RenderObjectsTable(const proto::ListObjectsReply& reply) {
  constexpr char kRow[] = "%-32s %-10s %-16s %s\n";
  std::string out = absl::StrFormat(kRow, "OBJECT_ID", "SIZE", "OWNER", "LOCATION");
  for (const auto& object : reply.objects()) {
    absl::StrAppend(
        &out, absl::StrFormat(kRow, object.object_id(), HumanBytes(ObjectSize(object)),
                              object.owner().empty() ? "-" : object.owner(), Locations(object)));
  }
  return out;
}

std::string RenderObjectsJson(const proto::ListObjectsReply& reply) {
  google::protobuf::ListValue list;
  for (const auto& object : reply.objects()) *list.add_values() = ObjectJson(object);
  return ToJson(list);
}

}  // namespace weft::cli
