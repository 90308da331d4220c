#include "cli/render.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/format.h"
#include "common/resources.h"

namespace weft::cli {
namespace {

std::string StateName(proto::NodeState state) {
  return state == proto::NODE_ALIVE ? "ALIVE" : state == proto::NODE_DEAD ? "DEAD" : "UNKNOWN";
}

double Amount(const ProtoResources& r, const std::string& name) {
  const auto it = r.find(name);
  return it == r.end() ? 0 : it->second;
}

// "1/2" for CPUs and custom resources, "0.0/7.8GiB" for memory: used/total.
std::string UsedOfTotal(const std::string& name, double used, double total) {
  if (name == "memory") {
    return absl::StrFormat("%.1f/%.1fGiB", used / (1 << 30), total / (1 << 30));
  }
  return absl::StrFormat("%g/%g", used, total);
}

std::string CustomResources(const proto::NodeInfo& node) {
  std::string out;
  for (const auto& [name, total] : std::map(node.total().begin(), node.total().end())) {
    if (name == "CPU" || name == "memory") continue;
    absl::StrAppend(&out, out.empty() ? "" : " ", name, "=",
                    UsedOfTotal(name, total - Amount(node.available(), name), total));
  }
  return out.empty() ? "-" : out;
}

// "CPU 1/2 memory 1.0/4.0GiB GPU 0/2": every resource of the node, CPU and memory first.
std::string NodeResources(const proto::NodeInfo& node) {
  std::string out;
  auto add = [&](const std::string& name, double total) {
    absl::StrAppend(&out, out.empty() ? "" : " ", name, " ",
                    UsedOfTotal(name, total - Amount(node.available(), name), total));
  };
  add("CPU", Amount(node.total(), "CPU"));
  add("memory", Amount(node.total(), "memory"));
  for (const auto& [name, total] : std::map(node.total().begin(), node.total().end())) {
    if (name != "CPU" && name != "memory") add(name, total);
  }
  return out;
}

}  // namespace

std::string RenderStatus(const proto::ListNodesReply& reply, const std::string& head_address,
                         const std::vector<proto::ActorInfo>& pending_actors) {
  int alive = 0, dead = 0, workers = 0;
  std::map<std::string, std::pair<double, double>> resources;  // name -> (used, total)
  proto::ObjectStoreFigures store;                             // summed over alive nodes
  for (const auto& node : reply.nodes()) {
    if (node.state() != proto::NODE_ALIVE) {
      ++dead;
      continue;
    }
    ++alive;
    workers += node.num_workers();
    const auto& s = node.object_store();
    store.set_capacity_bytes(store.capacity_bytes() + s.capacity_bytes());
    store.set_used_bytes(store.used_bytes() + s.used_bytes());
    store.set_spilled_bytes(store.spilled_bytes() + s.spilled_bytes());
    store.set_spilled_objects(store.spilled_objects() + s.spilled_objects());
    for (const auto& [name, total] : node.total()) {
      resources[name].first += total - Amount(node.available(), name);
      resources[name].second += total;
    }
  }
  std::string out = absl::StrCat("Cluster ", reply.cluster_id(), " at ", head_address, "\n",
                                 "Nodes: ", alive, " alive, ", dead, " dead\n",
                                 "Workers: ", workers, "\n", "Resources (used/total):\n");
  for (const auto& [name, amounts] : resources) {
    absl::StrAppend(&out, absl::StrFormat("  %-10s %s\n", name,
                                          UsedOfTotal(name, amounts.first, amounts.second)));
  }
  if (alive > 0) absl::StrAppend(&out, "Per node (used/total):\n");
  for (const auto& node : reply.nodes()) {
    if (node.state() != proto::NODE_ALIVE) continue;
    absl::StrAppend(
        &out,
        absl::StrFormat("  %-16s %-20s %s, %d workers%s\n", node.node_id(),
                        node.hostname().empty() ? node.address() : node.hostname(),
                        NodeResources(node), node.num_workers(), node.is_head() ? " (head)" : ""));
  }
  if (store.capacity_bytes() > 0) {
    absl::StrAppend(&out, "Object store: ", HumanBytes(store.used_bytes()), "/",
                    HumanBytes(store.capacity_bytes()), " used, ",
                    HumanBytes(store.spilled_bytes()), " spilled (", store.spilled_objects(),
                    " objects)\n");
  }
  if (reply.queued_leases() > 0) {
    absl::StrAppend(&out, "Pending leases: ", reply.queued_leases(), " waiting for resources\n");
    for (const auto& line : reply.queued_reasons()) absl::StrAppend(&out, "  ", line, "\n");
  }
  if (!pending_actors.empty()) {
    // Grouped by class and reason, the largest group first.
    std::map<std::pair<std::string, std::string>, int> groups;
    for (const auto& actor : pending_actors) {
      ++groups[{actor.class_name(),
                actor.pending_reason().empty() ? "waiting to be placed" : actor.pending_reason()}];
    }
    std::vector<std::pair<int, std::pair<std::string, std::string>>> sorted;
    for (const auto& [key, count] : groups) sorted.push_back({-count, key});
    std::sort(sorted.begin(), sorted.end());
    absl::StrAppend(&out, "Pending actors: ", pending_actors.size(), "\n");
    for (const auto& [count, key] : sorted) {
      absl::StrAppend(&out, "  ", key.first, " x", -count, ": ", key.second, "\n");
    }
  }
  return out;
}

std::string RenderNodesTable(const proto::ListNodesReply& reply) {
  constexpr char kRow[] = "%-17s %-22s %-6s %-4s %-7s %-16s %-7s %s\n";
  std::string out = absl::StrFormat(kRow, "NODE_ID", "ADDRESS", "STATE", "HEAD", "CPU", "MEMORY",
                                    "WORKERS", "RESOURCES");
  for (const auto& n : reply.nodes()) {
    const double cpu = Amount(n.total(), "CPU"), mem = Amount(n.total(), "memory");
    absl::StrAppend(
        &out, absl::StrFormat(kRow, n.node_id(), n.address(), StateName(n.state()),
                              n.is_head() ? "yes" : "no",
                              UsedOfTotal("CPU", cpu - Amount(n.available(), "CPU"), cpu),
                              UsedOfTotal("memory", mem - Amount(n.available(), "memory"), mem),
                              absl::StrCat(n.num_workers()), CustomResources(n)));
  }
  return out;
}

std::string RenderNodesJson(const proto::ListNodesReply& reply) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  google::protobuf::util::MessageToJsonString(reply, &json, options);
  return json;
}

}  // namespace weft::cli
