#include "cli/cluster_views.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace weft::cli {
namespace {

constexpr std::chrono::milliseconds kWorkerTimeout{1000};

// Where each object's owner answers: its job's driver, or the worker that owns it (found in
// the nodes' worker lists). Objects whose owner is not found are left out.
std::map<std::string, std::vector<std::string>> IdsByOwner(const HeadClient& head,
                                                           const proto::ListObjectsReply& objects) {
  std::map<std::string, std::string> drivers;  // job id -> driver address
  if (auto jobs = head.ListJobs(); jobs.ok()) {
    for (const auto& job : jobs->jobs()) drivers[job.job_id()] = job.driver_address();
  }
  std::map<std::string, std::string> workers;  // worker id -> address
  const bool worker_owned =
      std::any_of(objects.objects().begin(), objects.objects().end(),
                  [](const proto::ObjectInfo& o) { return !o.owner_worker_id().empty(); });
  if (auto nodes = head.ListNodes(); worker_owned && nodes.ok()) {
    for (const auto& node : nodes->nodes()) {
      if (node.state() != proto::NODE_ALIVE) continue;
      auto listed = head.ListWorkers(node.address());
      if (!listed.ok()) continue;
      for (const auto& worker : listed->workers()) workers[worker.worker_id()] = worker.address();
    }
  }
  std::map<std::string, std::vector<std::string>> ids;
  for (const auto& object : objects.objects()) {
    const auto& table = object.owner_worker_id().empty() ? drivers : workers;
    auto owner =
        table.find(object.owner_worker_id().empty() ? object.owner() : object.owner_worker_id());
    if (owner != table.end() && !owner->second.empty()) {
      ids[owner->second].push_back(object.object_id());
    }
  }
  return ids;
}

}  // namespace

absl::StatusOr<std::vector<ActorRow>> FetchActorRows(const HeadClient& head,
                                                     const std::vector<ActorFilterTerm>& filters,
                                                     int page_size) {
  auto actors = head.ListActors(page_size);
  if (!actors.ok()) return actors.status();
  std::vector<ActorRow> rows;
  std::set<std::string> workers;
  for (auto& actor : *actors) {
    if (!MatchesAll(filters, actor)) continue;
    if (actor.state() == proto::ACTOR_ALIVE && !actor.address().empty()) {
      workers.insert(actor.address());
    }
    rows.push_back(ActorRow{std::move(actor), std::nullopt});
  }
  const auto stats = head.ActorStats({workers.begin(), workers.end()}, kWorkerTimeout);
  for (auto& row : rows) {
    if (row.info.state() != proto::ACTOR_ALIVE) continue;
    if (auto it = stats.find(row.info.actor_id()); it != stats.end()) row.stats = it->second;
  }
  return rows;
}

ActorRow WithCallCounts(const HeadClient& head, proto::ActorInfo actor) {
  ActorRow row{std::move(actor), std::nullopt};
  if (row.info.state() == proto::ACTOR_ALIVE && !row.info.address().empty()) {
    const auto stats = head.ActorStats({row.info.address()}, kWorkerTimeout);
    if (auto it = stats.find(row.info.actor_id()); it != stats.end()) row.stats = it->second;
  }
  return row;
}

absl::StatusOr<ObjectsView> FetchObjects(const HeadClient& head) {
  auto objects = head.ListObjects();
  if (!objects.ok()) return objects.status();
  ObjectsView view{.objects = *std::move(objects), .references = {}};
  view.references = head.References(IdsByOwner(head, view.objects), kWorkerTimeout);
  return view;
}

}  // namespace weft::cli
