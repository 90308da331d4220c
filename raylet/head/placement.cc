#include "raylet/head/placement.h"

#include <limits>

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

std::string SharedSpread::Pick(const std::shared_ptr<const std::vector<std::string>>& alive,
                               const Hosted& hosted) {
  if (!alive || alive->empty()) return "";
  if (alive != alive_) {  // nodes came or went: a new one may host none
    alive_ = alive;
    next_ %= alive->size();
    floor_ = 0;
  }
  const size_t n = alive->size();
  for (;;) {
    int lowest = std::numeric_limits<int>::max();
    for (size_t looked = 0; looked < n; ++looked) {
      const std::string& node = (*alive)[next_];
      next_ = (next_ + 1) % n;
      const int count = hosted(node);
      if (count <= floor_) {  // none hosts fewer: one of the fewest
        floor_ = count;
        return node;
      }
      lowest = std::min(lowest, count);
    }
    floor_ = lowest;  // a whole pass above the floor: it was too low
  }
}

}  // namespace weft::head
