// weft memory: each node's object store, and the largest stored objects with their owners
// and where they are.

#include <iostream>
#include <limits>

#include "cli/command.h"
#include "cli/head_client.h"
#include "cli/memory_render.h"

namespace weft::cli {
namespace {

struct MemoryOptions {
  ClusterFlags cluster;
  int top = 10;
  std::string format = "table";
};

absl::Status RunMemory(const MemoryOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto nodes = head->ListNodes();
  if (!nodes.ok()) return nodes.status();
  auto objects = head->ListObjects();
  if (!objects.ok()) return objects.status();
  std::cout << (o.format == "json" ? RenderMemoryJson(*nodes, *objects, o.top)
                                   : RenderMemory(*nodes, *objects, o.top));
  return absl::OkStatus();
}

}  // namespace

void AddMemoryCommand(CLI::App& app) {
  auto o = std::make_shared<MemoryOptions>();
  auto* cmd = app.add_subcommand("memory", "Object store use per node and the largest objects");
  AddClusterFlags(cmd, o->cluster);
  cmd->add_option("--top", o->top, "How many of the largest objects to list")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()))
      ->capture_default_str();
  AddFormatFlag(cmd, o->format);
  OnRun(cmd, o, &RunMemory);
}

}  // namespace weft::cli
