// weft get actor: every field of one actor, with its worker's call counts.

#include <iostream>

#include "cli/actor_render.h"
#include "cli/actor_selector.h"
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
  ActorRow row{*std::move(actor), std::nullopt};
  if (row.info.state() == proto::ACTOR_ALIVE && !row.info.address().empty()) {
    const auto stats = head->ActorStats({row.info.address()}, std::chrono::milliseconds(1000));
    if (auto it = stats.find(row.info.actor_id()); it != stats.end()) row.stats = it->second;
  }
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
