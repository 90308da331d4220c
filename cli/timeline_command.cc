// weft timeline: a Chrome trace of the calls and tasks the cluster's workers ran, as
// `ray timeline` writes one (open it in https://ui.perfetto.dev or chrome://tracing).

#include <fstream>
#include <iostream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/head_client.h"
#include "cli/timeline.h"

namespace weft::cli {
namespace {

constexpr std::chrono::milliseconds kWorkerTimeout{5000};

struct TimelineOptions {
  ClusterFlags cluster;
  std::string job;
  std::string output;
};

struct Collected {
  std::vector<WorkerCalls> workers;
  size_t calls = 0;
};

// The calls of job `job` (empty: of every job) on the alive nodes: those of the workers that
// left (their node keeps their logs), then those the live workers answer with. A worker that
// handed its log over and is not reaped yet is taken once, from its node.
Collected CollectCalls(const HeadClient& head, const proto::ListNodesReply& nodes,
                       const std::string& job) {
  Collected collected;
  absl::flat_hash_set<std::string> handed_over;
  std::vector<WorkerCalls> live;
  for (const auto& node : nodes.nodes()) {
    if (node.state() != proto::NODE_ALIVE) continue;
    auto exited = head.ExitedCalls(node.address(), job);
    if (!exited.ok()) {
      std::cerr << "warning: " << exited.status().message() << ": they are left out\n";
    } else {
      for (auto& log : *exited->mutable_workers()) {
        handed_over.insert(log.worker().worker_id());
        collected.workers.push_back(
            {.node = node, .worker = log.worker(), .calls = std::move(*log.mutable_calls())});
      }
    }
    auto listed = head.ListWorkers(node.address());
    if (!listed.ok()) {
      std::cerr << "warning: " << listed.status().message() << ": its calls are left out\n";
      continue;
    }
    for (const auto& worker : listed->workers()) {
      if (worker.state() != proto::WORKER_ALIVE || worker.address().empty()) continue;
      if (!job.empty() && worker.job_id() != job) continue;
      live.push_back({.node = node, .worker = worker, .calls = {}});
    }
  }
  std::erase_if(live,
                [&](const WorkerCalls& w) { return handed_over.contains(w.worker.worker_id()); });
  std::vector<std::string> addresses;
  for (const auto& w : live) addresses.push_back(w.worker.address());
  auto answers = head.CallEvents(addresses, kWorkerTimeout);
  for (size_t i = 0; i < live.size(); ++i) {
    if (!answers[i].ok()) {
      std::cerr << "warning: worker " << live[i].worker.pid() << " at " << live[i].worker.address()
                << " did not answer (" << answers[i].status().message()
                << "): its calls are left out\n";
      continue;
    }
    live[i].calls = *std::move(answers[i]);
    collected.workers.push_back(std::move(live[i]));
  }
  for (const auto& w : collected.workers) collected.calls += w.calls.events_size();
  return collected;
}

absl::Status RunTimeline(const TimelineOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  std::string job;
  if (!o.job.empty()) {
    auto found = head->FindJob(o.job);
    if (!found.ok()) return found.status();
    job = found->job_id();
  }
  auto nodes = head->ListNodes();
  if (!nodes.ok()) return nodes.status();
  const auto [workers, calls] = CollectCalls(*head, *nodes, job);
  const std::string trace = RenderTimeline(workers);
  if (o.output == "-") {
    std::cout << trace;
    return absl::OkStatus();
  }
  const std::string path =
      !o.output.empty()
          ? o.output
          : absl::StrCat("weft-timeline-",
                         absl::FormatTime("%Y-%m-%d_%H-%M-%S", absl::Now(), absl::LocalTimeZone()),
                         ".json");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << trace;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write the timeline to ", path));
  std::cout << "wrote " << calls << " calls of " << workers.size() << " workers to " << path
            << "\nopen it in https://ui.perfetto.dev or chrome://tracing\n";
  return absl::OkStatus();
}

}  // namespace

void AddTimelineCommand(CLI::App& app) {
  auto o = std::make_shared<TimelineOptions>();
  auto* cmd = app.add_subcommand(
      "timeline",
      "Write a Chrome trace of the calls and tasks the workers ran lately (each worker keeps "
      "its last 10,000; each node the last 100,000 of its workers that exited)");
  AddClusterFlags(cmd, o->cluster);
  cmd->add_option("--job", o->job, "Only this job's workers (its id, or a unique prefix)");
  cmd->add_option("-o,--output", o->output,
                  "Where to write it (default: weft-timeline-<date>_<time>.json here; - for "
                  "standard output)");
  OnRun(cmd, o, &RunTimeline);
}

}  // namespace weft::cli
