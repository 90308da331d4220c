// weft kill actor: ends an actor (its queued calls fail) and prints its final state.

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/actor_selector.h"
#include "cli/command.h"
#include "common/actor_listing.h"

namespace weft::cli {
namespace {

struct KillActorOptions {
  ClusterFlags cluster;
  ActorSelector actor;
};

absl::Status RunKillActor(const KillActorOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto actor = FindSelectedActor(*head, o.actor);
  if (!actor.ok()) return actor.status();
  const bool was_dead = actor->state() == proto::ACTOR_DEAD;
  auto killed = head->KillActor(actor->actor_id(), "killed by `weft kill actor`");
  if (!killed.ok()) return killed.status();
  std::cout << "actor " << killed->actor_id() << " (" << killed->class_name() << ") "
            << (was_dead ? "was already " : "is now ") << ActorStateName(killed->state());
  if (!killed->death_reason().empty()) std::cout << ": " << killed->death_reason();
  std::cout << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddKillCommand(CLI::App& app) {
  auto* kill = app.add_subcommand("kill", "End a cluster entity");
  kill->require_subcommand(1);
  auto o = std::make_shared<KillActorOptions>();
  auto* cmd = kill->add_subcommand("actor", "Kill one actor (by id, prefix or --name)");
  AddActorSelector(cmd, o->actor);
  AddClusterFlags(cmd, o->cluster);
  OnRun(cmd, o, &RunKillActor);
}

}  // namespace weft::cli
