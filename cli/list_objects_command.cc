// weft list objects: the head's object directory (where each stored object's bytes are), and
// what holds each object, as its owner says.

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/head_client.h"
#include "cli/object_render.h"

namespace weft::cli {
namespace {

constexpr std::chrono::milliseconds kOwnerTimeout{1000};

struct ListObjectsOptions {
  ClusterFlags cluster;
  std::string format = "table";
};

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

absl::Status RunListObjects(const ListObjectsOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto objects = head->ListObjects();
  if (!objects.ok()) return objects.status();
  const References references = head->References(IdsByOwner(*head, *objects), kOwnerTimeout);
  std::cout << (o.format == "json" ? RenderObjectsJson(*objects, references)
                                   : RenderObjectsTable(*objects, references));
  return absl::OkStatus();
}

}  // namespace

void AddListObjectsCommand(CLI::App& list) {
  auto o = std::make_shared<ListObjectsOptions>();
  auto* cmd = list.add_subcommand(
      "objects", "Stored objects with size, owner, what holds them, spilled, and location");
  AddClusterFlags(cmd, o->cluster);
  AddFormatFlag(cmd, o->format);
  OnRun(cmd, o, &RunListObjects);
}

}  // namespace weft::cli
