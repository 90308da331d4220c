#include "raylet/head/node_directory.h"

#include "common/logging.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace weft::head {

NodeDirectory::NodeDirectory(Options options, Clock clock)
    : options_(options), clock_(std::move(clock)) {}

absl::Status NodeDirectory::Register(proto::NodeInfo node) {
  if (node.node_id().empty() || node.address().empty()) {
    return absl::InvalidArgumentError("node registration needs node_id and address");
  }
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  if (nodes_.contains(node.node_id())) {
    return absl::AlreadyExistsError(absl::StrCat("node ", node.node_id(), " already registered"));
  }
  node.set_state(proto::NODE_ALIVE);
  *node.mutable_available() = node.total();
  node.set_registered_unix_ms(absl::ToUnixMillis(now));
  node.set_last_heartbeat_unix_ms(absl::ToUnixMillis(now));
  spdlog::info("node registered id={} address={} head={}", node.node_id(), node.address(),
               node.is_head());
  const std::string id = node.node_id();
  nodes_.emplace(id, Entry{std::move(node), now, next_order_++});
  return absl::OkStatus();
}

absl::Status NodeDirectory::Heartbeat(const std::string& node_id, const ProtoResources& available,
                                      int num_workers) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return absl::NotFoundError(absl::StrCat("node ", node_id, " not found"));
  Entry& entry = it->second;
  if (entry.info.state() == proto::NODE_DEAD) {
    return absl::FailedPreconditionError(
        absl::StrCat("node ", node_id, " was marked dead: ", entry.info.death_reason()));
  }
  entry.last_heartbeat = now;
  entry.info.set_last_heartbeat_unix_ms(absl::ToUnixMillis(now));
  *entry.info.mutable_available() = available;
  entry.info.set_num_workers(num_workers);
  return absl::OkStatus();
}

absl::Status NodeDirectory::Unregister(const std::string& node_id, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return absl::NotFoundError(absl::StrCat("node ", node_id, " not found"));
  if (it->second.info.state() != proto::NODE_DEAD) MarkDeadLocked(it->second, reason);
  return absl::OkStatus();
}

std::vector<std::string> NodeDirectory::MarkSilentNodesDead() {
  const absl::Time now = clock_();
  std::vector<std::string> dead;
  absl::MutexLock lock(&mu_);
  for (auto& [id, entry] : nodes_) {
    if (entry.info.state() != proto::NODE_ALIVE) continue;
    const absl::Duration silence = now - entry.last_heartbeat;
    if (silence <= options_.node_timeout) continue;
    MarkDeadLocked(entry, absl::StrCat("no heartbeat for ", absl::FormatDuration(silence)));
    dead.push_back(id);
  }
  return dead;
}

void NodeDirectory::MarkDeadLocked(Entry& entry, const std::string& reason) {
  entry.info.set_state(proto::NODE_DEAD);
  entry.info.set_death_reason(reason);
  entry.info.set_num_workers(0);
  spdlog::warn("node dead id={} address={} reason=\"{}\"", entry.info.node_id(),
               entry.info.address(), reason);
}

void NodeDirectory::Reserve(const std::string& node_id, const ResourceMap& required) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  auto& amounts = *it->second.info.mutable_available();
  for (const auto& [name, amount] : required) amounts[name] = std::max(0.0, amounts[name] - amount);
}

std::optional<proto::NodeInfo> NodeDirectory::Get(const std::string& node_id) const {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.info;
}

std::vector<proto::NodeInfo> NodeDirectory::List() const {
  std::vector<std::pair<int64_t, proto::NodeInfo>> ordered;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, entry] : nodes_) ordered.emplace_back(entry.order, entry.info);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<proto::NodeInfo> out;
  for (auto& [order, info] : ordered) out.push_back(std::move(info));
  return out;
}

std::vector<proto::NodeInfo> NodeDirectory::ListAlive() const {
  auto all = List();
  std::erase_if(all, [](const auto& n) { return n.state() != proto::NODE_ALIVE; });
  return all;
}

}  // namespace weft::head
