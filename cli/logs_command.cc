// weft logs actor: the output of the worker hosting an actor, read from the worker's log
// files (on this machine, or through the node that keeps them); only the actor's own lines
// (tagged with its class) and untagged ones.

#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/actor_selector.h"
#include "cli/command.h"
#include "cli/log_tail.h"
#include "common/actor_listing.h"

namespace weft::cli {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kStateInterval = std::chrono::seconds(1);

struct LogsActorOptions {
  ClusterFlags cluster;
  ActorSelector actor;
  bool follow = false;
};

// The node record and worker record of the worker that hosts `actor`.
absl::StatusOr<std::pair<proto::NodeInfo, proto::WorkerInfo>> FindWorker(
    const HeadClient& head, const proto::ActorInfo& actor) {
  const std::string who = absl::StrCat("actor ", actor.actor_id(), " (", actor.class_name(), ")");
  if (actor.worker_id().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(who, " is ", ActorStateName(actor.state()), " and has no worker yet",
                     actor.pending_reason().empty() ? "" : ": ", actor.pending_reason()));
  }
  auto nodes = head.ListNodes();
  if (!nodes.ok()) return nodes.status();
  for (const auto& node : nodes->nodes()) {
    if (node.node_id() != actor.node_id()) continue;
    auto workers = head.ListWorkers(node.address());
    if (!workers.ok()) return workers.status();
    for (const auto& worker : workers->workers()) {
      if (worker.worker_id() == actor.worker_id()) return std::make_pair(node, worker);
    }
    return absl::NotFoundError(absl::StrCat("node ", node.node_id(), " no longer knows worker ",
                                            actor.worker_id(), " of ", who));
  }
  return absl::NotFoundError(absl::StrCat("node ", actor.node_id(), " of ", who, " not found"));
}

// The worker's log `stream`: its file on this machine, else read by its node.
std::unique_ptr<LogTail> TailOf(const HeadClient& head, const proto::NodeInfo& node,
                                const proto::WorkerInfo& worker, proto::LogStream stream) {
  return std::make_unique<LogTail>(
      stream == proto::LOG_STDOUT ? worker.stdout_path() : worker.stderr_path(),
      [&head, node_address = node.address(), worker_id = worker.worker_id(),
       stream](int64_t offset) -> absl::StatusOr<std::string> {
        proto::ReadLogRequest request;
        request.set_worker_id(worker_id);
        request.set_stream(stream);
        request.set_offset(offset);
        request.set_max_bytes(LogTail::kChunk);
        auto read = head.ReadLog(node_address, request);
        if (!read.ok()) return read.status();
        return std::move(*read->mutable_data());
      });
}

// Opens the worker's log; says where it is when neither this machine nor its node has it.
absl::Status OpenTail(LogTail& tail, const proto::NodeInfo& node, const std::string& actor_id) {
  auto status = tail.Open();
  if (status.ok()) return status;
  return absl::Status(
      status.code(),
      absl::StrCat("cannot read the log of actor ", actor_id, " (", tail.path(), " on node ",
                   node.node_id(), ", host ", node.hostname(), "): ", status.message()));
}

void PrintLines(LogTail& tail, const std::string& class_name, bool final) {
  for (const auto& line : tail.ReadLines(final)) {
    if (LineBelongsTo(line, class_name)) std::cout << line << "\n";
  }
  std::cout.flush();
}

// Prints what the files gain until the actor is DEAD (or the user interrupts).
absl::Status Follow(const HeadClient& head, const proto::ActorInfo& actor, LogTail& out,
                    LogTail& err) {
  auto next_check = std::chrono::steady_clock::now() + kStateInterval;
  for (;;) {
    std::this_thread::sleep_for(kPollInterval);
    PrintLines(out, actor.class_name(), false);
    PrintLines(err, actor.class_name(), false);
    if (std::chrono::steady_clock::now() < next_check) continue;
    next_check += kStateInterval;
    auto now = head.GetActor(actor.actor_id());
    if (!now.ok()) return now.status();
    if (now->state() != proto::ACTOR_DEAD) continue;
    std::this_thread::sleep_for(kPollInterval);  // the node may still be writing its last lines
    PrintLines(out, actor.class_name(), true);
    PrintLines(err, actor.class_name(), true);
    std::cerr << "actor " << actor.actor_id() << " is DEAD: " << now->death_reason() << "\n";
    return absl::OkStatus();
  }
}

absl::Status RunLogsActor(const LogsActorOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto actor = FindSelectedActor(*head, o.actor);
  if (!actor.ok()) return actor.status();
  auto where = FindWorker(*head, *actor);
  if (!where.ok()) return where.status();
  const auto& [node, worker] = *where;
  auto out = TailOf(*head, node, worker, proto::LOG_STDOUT);
  auto err = TailOf(*head, node, worker, proto::LOG_STDERR);
  for (LogTail* tail : {out.get(), err.get()}) {
    if (auto status = OpenTail(*tail, node, actor->actor_id()); !status.ok()) return status;
  }
  PrintLines(*out, actor->class_name(), !o.follow);
  PrintLines(*err, actor->class_name(), !o.follow);
  return o.follow ? Follow(*head, *actor, *out, *err) : absl::OkStatus();
}

}  // namespace

void AddLogsCommand(CLI::App& app) {
  auto* logs = app.add_subcommand("logs", "Print the output of a cluster entity");
  logs->require_subcommand(1);
  auto o = std::make_shared<LogsActorOptions>();
  auto* cmd = logs->add_subcommand(
      "actor", "Output of the worker hosting an actor: its stdout, then its stderr log");
  AddActorSelector(cmd, o->actor);
  AddClusterFlags(cmd, o->cluster);
  cmd->add_flag("--follow,-f", o->follow, "Keep printing new lines until the actor is DEAD");
  OnRun(cmd, o, &RunLogsActor);
}

}  // namespace weft::cli
