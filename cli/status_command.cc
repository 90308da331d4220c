// weft status: one screen about the cluster; exits non-zero when the head can't be reached.

#include <iostream>

#include "cli/cluster_views.h"
#include "cli/command.h"
#include "cli/render.h"

namespace weft::cli {
namespace {

absl::Status RunStatus(const ClusterFlags& flags) {
  auto head = HeadClient::Connect(flags);
  if (!head.ok()) return head.status();
  auto nodes = head->ListNodes();
  if (!nodes.ok()) return nodes.status();
  auto pending = FetchActorRows(*head, {{.key = "state", .value = "PENDING"}});
  if (!pending.ok()) return pending.status();
  std::vector<proto::ActorInfo> actors;
  for (auto& row : *pending) actors.push_back(std::move(row.info));
  std::cout << RenderStatus(*nodes, head->address(), actors);
  return absl::OkStatus();
}

}  // namespace

void AddStatusCommand(CLI::App& app) {
  auto flags = std::make_shared<ClusterFlags>();
  auto* cmd = app.add_subcommand(
      "status", "Nodes, resources used in all and per node, and what waits for resources");
  AddClusterFlags(cmd, *flags);
  OnRun(cmd, flags, &RunStatus);
}

}  // namespace weft::cli
