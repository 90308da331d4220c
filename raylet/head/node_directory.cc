#include "raylet/head/node_directory.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "raylet/head/placement.h"

namespace weft::head {

absl::Time MonotonicNow() {
  return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

NodeDirectory::NodeDirectory(Options options, Clock clock, Forget on_forget)
    : options_(options),
      clock_(std::move(clock)),
      on_forget_(std::move(on_forget)),
      last_check_(clock_()) {}

absl::StatusOr<std::vector<std::string>> NodeDirectory::Recover(TableStore& store,
                                                                absl::Duration grace) {
  auto rows = LoadMessages<proto::NodeInfo>(store, kNodesTable);
  if (!rows.ok()) return rows.status();
  std::sort(rows->begin(), rows->end(), [](const proto::NodeInfo& a, const proto::NodeInfo& b) {
    return a.registered_unix_ms() < b.registered_unix_ms();
  });
  const absl::Time now = clock_();
  std::vector<std::string> dead, dropped;
  {
    absl::MutexLock lock(&mu_);
    store_ = &store;
    RecoverLocked(*std::move(rows), now + grace, dead);
    dropped = DropOldDeadLocked();
  }
  ForgetAll(dropped);
  return dead;
}

void NodeDirectory::RecoverLocked(std::vector<proto::NodeInfo> rows, absl::Time silent_until,
                                  std::vector<std::string>& dead) {
  // Deaths from here on come after those stored (the old head's own node's, below, too).
  for (const auto& info : rows) next_death_ = std::max(next_death_, info.death_sequence() + 1);
  alive_ids_.reset();
  for (auto& info : rows) {
    const std::string id = info.node_id();
    info.clear_available();  // nothing is placed there before it reports
    info.set_num_workers(0);
    Entry& entry = nodes_[id] = Entry{std::move(info), silent_until, next_order_++, 0, {}};
    if (entry.info.state() != proto::NODE_ALIVE) continue;
    entry.recovered = true;
    if (entry.info.is_head()) {
      MarkDeadLocked(entry, "the head restarted: its own node's workers ended with it");
      dead.push_back(id);
    }
  }
}

absl::Status NodeDirectory::SaveLocked(const proto::NodeInfo& info) {
  return Persist(store_, {RowOf(kNodesTable, info.node_id(), info)});
}

absl::Status NodeDirectory::Register(proto::NodeInfo node) {
  if (node.node_id().empty() || node.address().empty()) {
    return absl::InvalidArgumentError("node registration needs node_id and address");
  }
  if (auto invalid = ValidateResources(node.total()); !invalid.ok()) return invalid;
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  if (nodes_.contains(node.node_id())) {
    return absl::AlreadyExistsError(absl::StrCat("node ", node.node_id(), " already registered"));
  }
  node.set_state(proto::NODE_ALIVE);
  *node.mutable_available() = node.total();
  node.set_registered_unix_ms(absl::ToUnixMillis(absl::Now()));
  node.set_last_heartbeat_unix_ms(node.registered_unix_ms());
  if (auto saved = SaveLocked(node); !saved.ok()) return saved;
  spdlog::info("node registered id={} address={} head={}", node.node_id(), node.address(),
               node.is_head());
  const std::string id = node.node_id();
  nodes_.emplace(id, Entry{std::move(node), now, next_order_++, 0, {}});
  alive_ids_.reset();
  return absl::OkStatus();
}

absl::StatusOr<bool> NodeDirectory::Heartbeat(const proto::HeartbeatRequest& heartbeat) {
  if (auto invalid = ValidateResources(heartbeat.available()); !invalid.ok()) return invalid;
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(heartbeat.node_id());
  if (it == nodes_.end()) {
    return absl::NotFoundError(absl::StrCat("node ", heartbeat.node_id(), " not found"));
  }
  Entry& entry = it->second;
  if (entry.info.state() == proto::NODE_DEAD) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", heartbeat.node_id(), " was marked dead: ", entry.info.death_reason()));
  }
  entry.last_heartbeat = now;
  const bool back = std::exchange(entry.recovered, false);
  entry.info.set_last_heartbeat_unix_ms(absl::ToUnixMillis(absl::Now()));
  *entry.info.mutable_object_store() = heartbeat.object_store();  // figures of its own, not
                                                                  // versioned with resources
  if (heartbeat.resource_version() < entry.resource_version) return back;  // stale
  entry.resource_version = heartbeat.resource_version();
  *entry.info.mutable_available() = heartbeat.available();
  entry.info.set_num_workers(heartbeat.num_workers());
  std::erase_if(entry.holds,
                [&](const Hold& h) { return h.settle_version <= heartbeat.resource_version(); });
  return back;
}

void NodeDirectory::AdoptLater(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  if (auto it = nodes_.find(node_id); it != nodes_.end()) it->second.recovered = true;
}

absl::Status NodeDirectory::Unregister(const std::string& node_id, const std::string& reason) {
  std::vector<std::string> dropped;
  {
    absl::MutexLock lock(&mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) {
      return absl::NotFoundError(absl::StrCat("node ", node_id, " not found"));
    }
    if (it->second.info.state() != proto::NODE_DEAD) MarkDeadLocked(it->second, reason);
    dropped = DropOldDeadLocked();
  }
  ForgetAll(dropped);
  return absl::OkStatus();
}

std::vector<std::string> NodeDirectory::MarkSilentNodesDead() {
  std::vector<std::string> dead, dropped;
  {
    absl::MutexLock lock(&mu_);
    dead = MarkSilentNodesDeadLocked(clock_());
    dropped = DropOldDeadLocked();  // after marking: it erases from nodes_
  }
  ForgetAll(dropped);
  return dead;
}

std::vector<std::string> NodeDirectory::MarkSilentNodesDeadLocked(absl::Time now) {
  std::vector<std::string> dead;
  const absl::Duration gap = now - std::exchange(last_check_, now);
  if (gap > options_.stall_threshold) {
    // The head itself was not running: silence during its own stall does not count. Only
    // the time past the usual check interval is credited, and never beyond now.
    const absl::Duration credit = gap - options_.heartbeat_period / 2;
    spdlog::warn("head stalled for {}; nodes get that time back", absl::FormatDuration(gap));
    for (auto& [id, entry] : nodes_) {
      // Never backwards: a recovered node's allowance may lie in the future already.
      entry.last_heartbeat =
          std::max(entry.last_heartbeat, std::min(now, entry.last_heartbeat + credit));
    }
  }
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
  alive_ids_.reset();
  const int lost = entry.info.num_workers();
  entry.info.set_death_reason(lost ? absl::StrCat(reason, "; ", lost, " workers lost") : reason);
  entry.info.set_num_workers(0);
  entry.info.set_dead_unix_ms(absl::ToUnixMillis(absl::Now()));
  entry.info.set_death_sequence(next_death_++);
  entry.holds.clear();
  // Dead either way; a restarted head that read it ALIVE would wait for it, then declare it
  // dead again.
  if (auto saved = SaveLocked(entry.info); !saved.ok()) spdlog::error("{}", saved.message());
  spdlog::warn("node dead id={} address={} reason=\"{}\"", entry.info.node_id(),
               entry.info.address(), entry.info.death_reason());
}

std::vector<std::string> NodeDirectory::DropOldDeadLocked() {
  // Earliest dead first; nodes stored dead by a head that kept no sequence count as earliest.
  std::vector<std::tuple<int64_t, int64_t, std::string>> dead;  // sequence, order, id
  for (const auto& [id, entry] : nodes_) {
    if (entry.info.state() != proto::NODE_DEAD) continue;
    dead.emplace_back(entry.info.death_sequence(), entry.order, id);
  }
  if (dead.size() <= options_.max_dead_nodes) return {};
  std::sort(dead.begin(), dead.end());
  const size_t excess = dead.size() - options_.max_dead_nodes;
  std::vector<TableStore::Change> gone;
  std::vector<std::string> dropped;
  for (size_t i = 0; i < excess; ++i) {
    const std::string& id = std::get<2>(dead[i]);
    nodes_.erase(id);
    gone.push_back({kNodesTable, id, std::nullopt});
    dropped.push_back(id);
  }
  if (auto stored = Persist(store_, gone); !stored.ok()) spdlog::error("{}", stored.message());
  return dropped;
}

void NodeDirectory::ForgetAll(const std::vector<std::string>& dropped) const {
  if (!on_forget_) return;
  for (const auto& id : dropped) on_forget_(id);
}

absl::StatusOr<NodeDirectory::Reservation> NodeDirectory::Reserve(const ResourceMap& required,
                                                                  const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  std::vector<proto::NodeInfo> candidates = ListLocked(/*alive_only=*/true);
  if (!node_id.empty()) {
    std::erase_if(candidates, [&](const proto::NodeInfo& n) { return n.node_id() != node_id; });
    if (candidates.empty()) {
      return absl::UnavailableError(absl::StrCat("node ", node_id, " is not alive"));
    }
  }
  auto node = PickNode(candidates, required);
  if (!node.ok()) return node.status();
  const uint64_t id = next_hold_++;
  nodes_.at(node->node_id())
      .holds.push_back(Hold{id, required, std::numeric_limits<uint64_t>::max()});
  return Reservation{*std::move(node), id};
}

void NodeDirectory::SettleAfter(const Reservation& reservation, uint64_t version) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(reservation.node.node_id());
  if (it == nodes_.end()) return;
  for (Hold& hold : it->second.holds) {
    if (hold.id == reservation.id) hold.settle_version = version;
  }
}

void NodeDirectory::Release(const Reservation& reservation) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(reservation.node.node_id());
  if (it == nodes_.end()) return;
  std::erase_if(it->second.holds, [&](const Hold& h) { return h.id == reservation.id; });
}

proto::NodeInfo NodeDirectory::View(const Entry& entry) {
  proto::NodeInfo info = entry.info;
  auto& available = *info.mutable_available();
  for (const Hold& hold : entry.holds) {
    for (const auto& [name, amount] : hold.amounts) {
      available[name] = std::max(0.0, available[name] - amount);
    }
  }
  return info;
}

std::optional<proto::NodeInfo> NodeDirectory::Get(const std::string& node_id) const {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return std::nullopt;
  return View(it->second);
}

std::vector<proto::NodeInfo> NodeDirectory::List() const {
  absl::MutexLock lock(&mu_);
  return ListLocked(/*alive_only=*/false);
}

std::vector<const NodeDirectory::Entry*> NodeDirectory::OrderedLocked(bool alive_only) const {
  std::vector<const Entry*> ordered;
  for (const auto& [id, entry] : nodes_) {
    if (!alive_only || entry.info.state() == proto::NODE_ALIVE) ordered.push_back(&entry);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const Entry* a, const Entry* b) { return a->order < b->order; });
  return ordered;
}

std::vector<proto::NodeInfo> NodeDirectory::ListLocked(bool alive_only) const {
  std::vector<proto::NodeInfo> out;
  for (const Entry* entry : OrderedLocked(alive_only)) out.push_back(View(*entry));
  return out;
}

std::vector<proto::NodeInfo> NodeDirectory::ListAlive() const {
  absl::MutexLock lock(&mu_);
  return ListLocked(/*alive_only=*/true);
}

NodeDirectory::NodeIds NodeDirectory::AliveIds() const {
  absl::MutexLock lock(&mu_);
  if (!alive_ids_) {
    auto ids = std::make_shared<std::vector<std::string>>();
    for (const Entry* entry : OrderedLocked(/*alive_only=*/true)) {
      ids->push_back(entry->info.node_id());
    }
    alive_ids_ = std::move(ids);
  }
  return alive_ids_;
}

}  // namespace weft::head
