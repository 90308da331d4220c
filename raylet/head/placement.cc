#include "raylet/head/placement.h"

#include "absl/strings/str_cat.h"

namespace weft::head {
namespace {

bool Covers(const ProtoResources& have, const ResourceMap& required) {
  for (const auto& [name, amount] : required) {
    if (amount <= 0) continue;
    const auto it = have.find(name);
    if (it == have.end() || it->second + 1e-9 < amount) return false;
  }
  return true;
}

double FreeCpuFraction(const proto::NodeInfo& node) {
  const auto total = node.total().find("CPU");
  const auto avail = node.available().find("CPU");
  if (total == node.total().end() || total->second <= 0) return 0;
  const double free = avail == node.available().end() ? 0 : avail->second;
  return free / total->second;
}

}  // namespace

absl::StatusOr<proto::NodeInfo> PickNode(const std::vector<proto::NodeInfo>& alive,
                                         const ResourceMap& required) {
  const proto::NodeInfo* best = nullptr;
  bool feasible = false;
  for (const auto& node : alive) {
    feasible |= Covers(node.total(), required);
    if (!Covers(node.available(), required)) continue;
    if (!best || FreeCpuFraction(node) > FreeCpuFraction(*best)) best = &node;
  }
  if (best) return *best;
  const std::string wanted = FormatResources(required);
  if (feasible) {
    return absl::ResourceExhaustedError(absl::StrCat("no node has ", wanted, " free right now"));
  }
  return absl::UnavailableError(
      absl::StrCat("no alive node offers ", wanted, " (", alive.size(), " alive nodes)"));
}

std::string PickSharedNode(const std::vector<proto::NodeInfo>& alive,
                           const absl::flat_hash_map<std::string, int>& hosted) {
  std::string best;
  int fewest = 0;
  for (const auto& node : alive) {
    const auto it = hosted.find(node.node_id());
    const int count = it == hosted.end() ? 0 : it->second;
    if (best.empty() || count < fewest) {
      best = node.node_id();
      fewest = count;
    }
  }
  return best;
}

}  // namespace weft::head
