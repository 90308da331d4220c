#include "cli/memory_render.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/format.h"
#include "cli/object_render.h"

namespace weft::cli {
namespace {

constexpr char kNodeRow[] = "%-17s %-21s %-10s %-10s %-16s %-7s %s\n";
constexpr char kObjectRow[] = "%-32s %-10s %-16s %-17s %s\n";

std::vector<const proto::NodeInfo*> AliveNodes(const proto::ListNodesReply& reply) {
  std::vector<const proto::NodeInfo*> alive;
  for (const auto& node : reply.nodes()) {
    if (node.state() == proto::NODE_ALIVE) alive.push_back(&node);
  }
  return alive;
}

// The `top` largest objects, largest first; ties by id, so that the order holds from run to run.
std::vector<const proto::ObjectInfo*> Largest(const proto::ListObjectsReply& reply, int top) {
  std::vector<const proto::ObjectInfo*> ranked;
  for (const auto& object : reply.objects()) ranked.push_back(&object);
  const auto shown = ranked.begin() + std::clamp<std::ptrdiff_t>(top, 0, std::ssize(ranked));
  std::partial_sort(ranked.begin(), shown, ranked.end(), [](const auto* a, const auto* b) {
    const int64_t size_a = ObjectSize(*a), size_b = ObjectSize(*b);
    return size_a != size_b ? size_a > size_b : a->object_id() < b->object_id();
  });
  ranked.erase(shown, ranked.end());
  return ranked;
}

// Bytes of every copy: each one takes room in some node's store or spill files.
int64_t StoredBytes(const proto::ListObjectsReply& reply) {
  int64_t bytes = 0;
  for (const auto& object : reply.objects()) {
    bytes += ObjectSize(object) * object.locations_size();
  }
  return bytes;
}

// Each figure of `from` added to the same figure of `into` (all of them are int64 counts).
void AddFigures(const proto::ObjectStoreFigures& from, proto::ObjectStoreFigures* into) {
  const auto* descriptor = from.GetDescriptor();
  const auto* reflection = from.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    reflection->SetInt64(into, field,
                         reflection->GetInt64(*into, field) + reflection->GetInt64(from, field));
  }
}

// `peak` is "-" on the totals line: nodes reach their peaks at different times, so their sum
// is no peak of the cluster.
std::string NodeRow(const std::string& node, const proto::ObjectStoreFigures& s,
                    const std::string& peak) {
  return absl::StrFormat(
      kNodeRow, node, absl::StrCat(HumanBytes(s.used_bytes()), "/", HumanBytes(s.capacity_bytes())),
      peak, HumanBytes(s.spilled_bytes()), absl::StrCat(s.spilled_objects()),
      absl::StrCat(s.spills()), absl::StrCat(s.restores()));
}

std::string NodeSection(const std::vector<const proto::NodeInfo*>& nodes) {
  if (nodes.empty()) return "No alive nodes.\n";
  std::string out = absl::StrFormat(kNodeRow, "NODE_ID", "USED/CAPACITY", "PEAK", "SPILLED",
                                    "SPILLED_OBJECTS", "SPILLS", "RESTORES");
  proto::ObjectStoreFigures total;
  for (const auto* node : nodes) {
    const auto& store = node->object_store();
    absl::StrAppend(&out, NodeRow(node->node_id(), store, HumanBytes(store.peak_bytes())));
    AddFigures(store, &total);
  }
  absl::StrAppend(&out, NodeRow("total", total, "-"));
  return out;
}

// Where the copies are: `id` of each copy's location (its node or its worker), joined by commas.
template <typename LocationId>
std::string Copies(const proto::ObjectInfo& object, LocationId id) {
  if (object.locations().empty()) return "-";
  return absl::StrJoin(object.locations(), ",", [&id](std::string* out, const auto& location) {
    absl::StrAppend(out, id(location));
  });
}

std::string ObjectSection(const proto::ListObjectsReply& reply, int top) {
  const int stored = reply.objects_size();
  if (stored == 0) return "No objects stored.\n";
  std::string out;
  const auto largest = Largest(reply, top);
  if (!largest.empty()) {
    absl::StrAppend(&out, "Largest objects (", largest.size(), " of ", stored, "):\n",
                    absl::StrFormat(kObjectRow, "OBJECT_ID", "SIZE", "OWNER", "NODE", "WORKER"));
    for (const auto* object : largest) {
      absl::StrAppend(
          &out, absl::StrFormat(kObjectRow, object->object_id(), HumanBytes(ObjectSize(*object)),
                                object->owner().empty() ? "-" : object->owner(),
                                Copies(*object, [](const auto& l) { return l.node_id(); }),
                                Copies(*object, [](const auto& l) { return l.worker_id(); })));
    }
    out += "\n";
  }
  absl::StrAppend(&out, stored, stored == 1 ? " object" : " objects", " stored, ",
                  HumanBytes(StoredBytes(reply)), " in all.\n");
  return out;
}

}  // namespace

std::string RenderMemory(const proto::ListNodesReply& nodes, const proto::ListObjectsReply& objects,
                         int top) {
  return absl::StrCat(NodeSection(AliveNodes(nodes)), "\n", ObjectSection(objects, top));
}

std::string RenderMemoryJson(const proto::ListNodesReply& nodes,
                             const proto::ListObjectsReply& objects, int top) {
  google::protobuf::Struct memory;
  auto& fields = *memory.mutable_fields();
  auto& node_list = *fields["nodes"].mutable_list_value();
  for (const auto* node : AliveNodes(nodes)) {
    auto& figures = *node_list.add_values()->mutable_struct_value()->mutable_fields();
    figures["node_id"].set_string_value(node->node_id());
    figures["address"].set_string_value(node->address());
    // Every store figure under its proto field name, as a number.
    const auto& store = node->object_store();
    const auto* descriptor = store.GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* field = descriptor->field(i);
      figures[field->name()].set_number_value(
          static_cast<double>(store.GetReflection()->GetInt64(store, field)));
    }
  }
  auto& object_list = *fields["objects"].mutable_list_value();
  for (const auto* object : Largest(objects, top)) *object_list.add_values() = ObjectJson(*object);
  fields["stored_objects"].set_number_value(objects.objects_size());
  fields["stored_bytes"].set_number_value(static_cast<double>(StoredBytes(objects)));
  return ToJson(memory);
}

}  // namespace weft::cli
