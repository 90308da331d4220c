// weft list actors: every actor the head knows, with the call counts of its worker.

#include <iostream>
#include <set>

#include "cli/actor_filter.h"
#include "cli/actor_render.h"
#include "cli/command.h"
#include "cli/head_client.h"

namespace weft::cli {
namespace {

struct ListActorsOptions {
  ClusterFlags cluster;
  std::vector<std::string> filters;  // key=value, validated while parsing
  std::string format = "table";
  int page_size = kActorPageSize;
};

// The actors that pass the filters, each with the stats its worker reported.
absl::StatusOr<std::vector<ActorRow>> CollectRows(const HeadClient& head,
                                                  const std::vector<ActorFilter>& filters,
                                                  int page_size) {
  auto actors = head.ListActors(page_size);
  if (!actors.ok()) return actors.status();
  std::vector<ActorRow> rows;
  std::set<std::string> workers;
  for (auto& actor : *actors) {
    if (!MatchesAll(filters, actor)) continue;
    if (actor.state() == proto::ACTOR_ALIVE && !actor.address().empty()) {
      workers.insert(actor.address());
    }
    rows.push_back(ActorRow{std::move(actor), std::nullopt});
  }
  const auto stats =
      head.ActorStats({workers.begin(), workers.end()}, std::chrono::milliseconds(1000));
  for (auto& row : rows) {
    if (row.info.state() != proto::ACTOR_ALIVE) continue;
    if (auto it = stats.find(row.info.actor_id()); it != stats.end()) row.stats = it->second;
  }
  return rows;
}

absl::Status RunListActors(const ListActorsOptions& o) {
  std::vector<ActorFilter> filters;
  for (const auto& text : o.filters) filters.push_back(*ParseActorFilter(text));  // validated
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto rows = CollectRows(*head, filters, o.page_size);
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
