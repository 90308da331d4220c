// weft list objects: the head's object directory (where each stored object's bytes are), and
// what holds each object, as its owner says.

#include <iostream>

#include "cli/cluster_views.h"
#include "cli/command.h"

namespace weft::cli {
namespace {

struct ListObjectsOptions {
  ClusterFlags cluster;
  std::string format = "table";
};

absl::Status RunListObjects(const ListObjectsOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto view = FetchObjects(*head);
  if (!view.ok()) return view.status();
  std::cout << (o.format == "json" ? RenderObjectsJson(view->objects, view->references)
                                   : RenderObjectsTable(view->objects, view->references));
  return absl::OkStatus();
}

}  // namespace

void AddListObjectsCommand(CLI::App& list) {
  auto o = std::make_shared<ListObjectsOptions>();
  auto* cmd = list.add_subcommand(
      "objects", "Stored objects with size, owner, what holds them, spilled, and location");
  AddClusterFlags(cmd, o->cluster);
  AddFormatFlag(cmd, o->format);
  OnRun(cmd, o, &RunListObjects);
}

}  // namespace weft::cli
