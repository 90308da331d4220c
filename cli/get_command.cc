// weft get actor: every field of one actor, with its worker's call counts.

#include <iostream>

#include "cli/actor_selector.h"
#include "cli/cluster_views.h"
#include "cli/command.h"

namespace weft::cli {
namespace {

struct GetActorOptions {
  ClusterFlags cluster;
  ActorSelector actor;
  std::string format = "table";
};

absl::Status RunGetActor(const GetActorOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto actor = FindSelectedActor(*head, o.actor);
  if (!actor.ok()) return actor.status();
  const ActorRow row = WithCallCounts(*head, *std::move(actor));
  std::cout << (o.format == "json" ? RenderActorJson(row) : RenderActorDetails(row));
  return absl::OkStatus();
}

}  // namespace

void AddGetCommand(CLI::App& app) {
  auto* get = app.add_subcommand("get", "Show one cluster entity in full");
  get->require_subcommand(1);
  auto o = std::make_shared<GetActorOptions>();
  auto* cmd = get->add_subcommand("actor", "Every field of one actor (by id, prefix or --name)");
  AddActorSelector(cmd, o->actor);
  AddClusterFlags(cmd, o->cluster);
  AddFormatFlag(cmd, o->format, "table (key: value lines) or json");
  OnRun(cmd, o, &RunGetActor);
}

}  // namespace weft::cli
