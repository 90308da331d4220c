#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "cli/head_client.h"
#include "head.pb.h"

namespace weft::cli {

// Which actor `weft get/kill/logs actor` is about: an id (or a unique prefix of one), or a
// name within a namespace.
struct ActorSelector {
  std::string id;
  std::string name;
  std::string ns = "default";
};

// Adds the ID positional, --name and --namespace to `command`; exactly one of ID and --name
// must be given (else a usage error).
void AddActorSelector(CLI::App* command, ActorSelector& selector);

// Looks the selected actor up. NOT_FOUND "actor <id> not found" when there is none.
[[nodiscard]] absl::StatusOr<proto::ActorInfo> FindSelectedActor(const HeadClient& head,
                                                                 const ActorSelector& selector);

}  // namespace weft::cli
