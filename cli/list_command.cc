// weft list: `nodes` (the head's node table as a table or JSON) here; `actors`, `objects` and
// `jobs` in list_actors_command.cc, list_objects_command.cc and list_jobs_command.cc.

#include <iostream>

#include "cli/command.h"
#include "cli/head_query.h"
#include "cli/render.h"

namespace weft::cli {
namespace {

struct ListOptions {
  ClusterFlags cluster;
  std::string format = "table";
};

absl::Status RunListNodes(const ListOptions& o) {
  auto table = FetchNodes(o.cluster);
  if (!table.ok()) return table.status();
  std::cout << (o.format == "json" ? RenderNodesJson(table->reply)
                                   : RenderNodesTable(table->reply));
  return absl::OkStatus();
}

}  // namespace

void AddListCommand(CLI::App& app) {
  auto* list = app.add_subcommand("list", "List cluster entities");
  list->require_subcommand(1);
  auto o = std::make_shared<ListOptions>();
  auto* nodes = list->add_subcommand("nodes", "Nodes with id, address, state, resources, workers");
  AddClusterFlags(nodes, o->cluster);
  AddFormatFlag(nodes, o->format);
  OnRun(nodes, o, &RunListNodes);
  AddListActorsCommand(*list);
  AddListObjectsCommand(*list);
  AddListJobsCommand(*list);
}

}  // namespace weft::cli
