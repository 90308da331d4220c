// weft status: one screen about the cluster; exits non-zero when the head can't be reached.

#include <iostream>

#include "cli/command.h"
#include "cli/head_query.h"
#include "cli/render.h"

namespace weft::cli {
namespace {

absl::Status RunStatus(const ClusterFlags& flags) {
  auto table = FetchNodes(flags);
  if (!table.ok()) return table.status();
  std::cout << RenderStatus(table->reply, table->head_address);
  return absl::OkStatus();
}

}  // namespace

void AddStatusCommand(CLI::App& app) {
  auto flags = std::make_shared<ClusterFlags>();
  auto* cmd = app.add_subcommand("status", "Show nodes, resources and workers of the cluster");
  AddClusterFlags(cmd, *flags);
  OnRun(cmd, flags, &RunStatus);
}

}  // namespace weft::cli
