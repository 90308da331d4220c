// weft list objects: the head's object directory, where each stored object's bytes are.

#include <iostream>

#include "cli/command.h"
#include "cli/head_client.h"
#include "cli/object_render.h"

namespace weft::cli {
namespace {

struct ListObjectsOptions {
  ClusterFlags cluster;
  std::string format = "table";
};

absl::Status RunListObjects(const ListObjectsOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto objects = head->ListObjects();
  if (!objects.ok()) return objects.status();
  std::cout << (o.format == "json" ? RenderObjectsJson(*objects) : RenderObjectsTable(*objects));
  return absl::OkStatus();
}

}  // namespace

void AddListObjectsCommand(CLI::App& list) {
  auto o = std::make_shared<ListObjectsOptions>();
  auto* cmd = list.add_subcommand("objects", "Stored objects with size, location and owner");
  AddClusterFlags(cmd, o->cluster);
  AddFormatFlag(cmd, o->format);
  OnRun(cmd, o, &RunListObjects);
}

}  // namespace weft::cli
