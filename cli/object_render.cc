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

bool ObjectSpilled(const proto::ObjectInfo& object) {
  for (const auto& location : object.locations()) {
    if (location.spilled()) return true;
  }
  return false;
}

google::protobuf::Value ObjectJson(const proto::ObjectInfo& object,
                                   const proto::ReferenceCounts* references) {
  google::protobuf::Value value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["object_id"] = Text(object.object_id());
  fields["owner"] = Text(object.owner());
  fields["owner_worker_id"] = Text(object.owner_worker_id());
  fields["size_bytes"].set_number_value(static_cast<double>(ObjectSize(object)));
  fields["spilled"].set_bool_value(ObjectSpilled(object));
  if (references) {
    auto& counts = *fields["references"].mutable_struct_value()->mutable_fields();
    counts["local"].set_number_value(references->local());
    counts["calls"].set_number_value(references->calls());
    counts["kept"].set_bool_value(references->kept());
    auto& borrowers = *counts["borrowers"].mutable_list_value();
    for (const auto& borrower : references->borrowers()) *borrowers.add_values() = Text(borrower);
  } else {
    fields["references"].set_null_value(google::protobuf::NULL_VALUE);
  }
  auto& locations = *fields["locations"].mutable_list_value();
  for (const auto& location : object.locations()) {
    auto& where = *locations.add_values()->mutable_struct_value()->mutable_fields();
    where["node_id"] = Text(location.node_id());
    where["worker_id"] = Text(location.worker_id());
    where["address"] = Text(location.address());
    where["spilled"].set_bool_value(location.spilled());
  }
  return value;
}

std::string RenderObjectsTable(const proto::ListObjectsReply& reply, const References& references) {
  constexpr char kRow[] = "%-24s %-10s %-24s %5s %5s %9s %-7s %s\n";
  std::string out = absl::StrFormat(kRow, "OBJECT_ID", "SIZE", "OWNER", "LOCAL", "CALLS",
                                    "BORROWERS", "SPILLED", "LOCATION");
  for (const auto& object : reply.objects()) {
    std::string owner = object.owner().empty() ? "-" : object.owner();
    if (!object.owner_worker_id().empty()) absl::StrAppend(&owner, "/", object.owner_worker_id());
    auto counts = references.find(object.object_id());
    const bool known = counts != references.end();
    // An object kept inside another object (or for its owner's life) shows "kept" as borrowers.
    std::string borrowers = "?";
    if (known) {
      borrowers = counts->second.kept() ? "kept" : absl::StrCat(counts->second.borrowers_size());
    }
    absl::StrAppend(&out,
                    absl::StrFormat(kRow, object.object_id(), HumanBytes(ObjectSize(object)), owner,
                                    known ? absl::StrCat(counts->second.local()) : "?",
                                    known ? absl::StrCat(counts->second.calls()) : "?", borrowers,
                                    ObjectSpilled(object) ? "yes" : "no", Locations(object)));
  }
  return out;
}

std::string RenderObjectsJson(const proto::ListObjectsReply& reply, const References& references) {
  google::protobuf::ListValue list;
  for (const auto& object : reply.objects()) {
    auto counts = references.find(object.object_id());
    *list.add_values() = ObjectJson(object, counts == references.end() ? nullptr : &counts->second);
  }
  return ToJson(list);
}

}  // namespace weft::cli
