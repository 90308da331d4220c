// weft status: one screen about the cluster; exits non-zero when the head can't be reached.

#include <iostream>

#include "cli/command.h"
#include "cli/head_query.h"
#include "cli/render.h"

namespace weft::cli {
namespace {

absl::Status RunStatus(const ClusterFlags& flags) {
  auto reply = FetchNodes(flags);
  if (!reply.ok()) return reply.status();
  std::string address = flags.address;
  if (address.empty() && !reply->nodes().empty()) {
    for (const auto& n : reply->nodes()) {
      if (n.is_head()) address = n.address();
    }
  }
  std::cout << RenderStatus(*reply, address.empty() ? "(recorded address)" : address);
  return absl::OkStatus();
}

}  // namespace

void AddClusterFlags(CLI::App* cmd, ClusterFlags& flags) {
  cmd->add_option("--address", flags.address, "Head host:port (default: the session's head)");
  cmd->add_option("--session-dir", flags.session_dir, "Session whose head and token to use");
}

void AddStatusCommand(CLI::App& app) {
  auto flags = std::make_shared<ClusterFlags>();
  auto* cmd = app.add_subcommand("status", "Show nodes, resources and workers of the cluster");
  AddClusterFlags(cmd, *flags);
  OnRun(cmd, flags, &RunStatus);
}

}  // namespace weft::cli
