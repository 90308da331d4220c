#include "cli/actor_selector.h"

namespace weft::cli {

void AddActorSelector(CLI::App* command, ActorSelector& selector) {
  auto* which = command->add_option_group("actor", "The actor: its id, or its name");
  which->add_option("ID", selector.id, "Actor id, or a unique prefix of one");
  which->add_option("--name", selector.name, "Name of a live named actor");
  which->require_option(1);
  command->add_option("--namespace", selector.ns, "Namespace of --name")->capture_default_str();
}

absl::StatusOr<proto::ActorInfo> FindSelectedActor(const HeadClient& head,
                                                   const ActorSelector& selector) {
  return selector.name.empty() ? head.FindActor(selector.id)
                               : head.FindNamedActor(selector.name, selector.ns);
}

}  // namespace weft::cli
