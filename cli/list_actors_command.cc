// weft list actors: every actor the head knows, with the call counts of its worker.

#include <iostream>

#include "cli/cluster_views.h"
#include "cli/command.h"

namespace weft::cli {
namespace {

struct ListActorsOptions {
  ClusterFlags cluster;
  std::vector<std::string> filters;  // key=value, validated while parsing
  std::string format = "table";
  int page_size = kActorPageSize;
};

absl::Status RunListActors(const ListActorsOptions& o) {
  std::vector<ActorFilterTerm> filters;
  for (const auto& text : o.filters) filters.push_back(*ParseActorFilter(text));  // validated
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto rows = FetchActorRows(*head, filters, o.page_size);
  if (!rows.ok()) return rows.status();
  std::cout << (o.format == "json" ? RenderActorsJson(*rows) : RenderActorsTable(*rows));
  return absl::OkStatus();
}

// Rejects an unknown filter key while parsing, so that it is a usage error (exit code 2).
CLI::Validator FilterValidator() {
  return CLI::Validator(
      [](std::string& text) {
        auto filter = ParseActorFilter(text);
        return filter.ok() ? std::string() : std::string(filter.status().message());
      },
      "KEY=VALUE");
}

}  // namespace

void AddListActorsCommand(CLI::App& list) {
  auto o = std::make_shared<ListActorsOptions>();
  auto* cmd = list.add_subcommand(
      "actors", "Actors with state, placement, executor, running and queued calls");
  AddClusterFlags(cmd, o->cluster);
  cmd->add_option("--filter", o->filters,
                  "key=value on state, class, name, node or job; repeat to AND them")
      ->check(FilterValidator())
      ->allow_extra_args(false);
  cmd->add_option("--page-size", o->page_size,
                  "Actors asked of the head per request (the head answers at most 10000)")
      ->check(CLI::Range(1, 10000));
  AddFormatFlag(cmd, o->format);
  OnRun(cmd, o, &RunListActors);
}

}  // namespace weft::cli
