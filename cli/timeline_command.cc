// weft timeline: a Chrome trace of the calls and tasks the cluster's workers ran, as
// `ray timeline` writes one (open it in https://ui.perfetto.dev or chrome://tracing).

#include <fstream>
#include <iostream>

#include "absl/strings/match.h"
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

// The id of the job `wanted` names (its id or a unique prefix of one).
absl::StatusOr<std::string> ResolveJob(const HeadClient& head, const std::string& wanted) {
  auto jobs = head.ListJobs();
  if (!jobs.ok()) return jobs.status();
  std::vector<std::string> matches;
  for (const auto& job : jobs->jobs()) {
    if (job.job_id() == wanted) return wanted;
    if (absl::StartsWith(job.job_id(), wanted)) matches.push_back(job.job_id());
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty()) return absl::NotFoundError(absl::StrCat("job ", wanted, " not found"));
  return absl::InvalidArgumentError(
      absl::StrCat("job id prefix ", wanted, " matches ", matches.size(), " jobs"));
}

absl::Status RunTimeline(const TimelineOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  std::string job;
  if (!o.job.empty()) {
    auto resolved = ResolveJob(*head, o.job);
    if (!resolved.ok()) return resolved.status();
    job = *std::move(resolved);
  }
  auto nodes = head->ListNodes();
  if (!nodes.ok()) return nodes.status();
  std::vector<WorkerCalls> workers;
  for (const auto& node : nodes->nodes()) {
    if (node.state() != proto::NODE_ALIVE) continue;
    auto listed = head->ListWorkers(node.address());
    if (!listed.ok()) {
      std::cerr << "warning: " << listed.status().message() << ": its calls are left out\n";
      continue;
    }
    for (const auto& worker : listed->workers()) {
      if (worker.state() != proto::WORKER_ALIVE || worker.address().empty()) continue;
      if (!job.empty() && worker.job_id() != job) continue;
      workers.push_back({.node = node, .worker = worker, .calls = {}});
    }
  }
  std::vector<std::string> addresses;
  for (const auto& w : workers) addresses.push_back(w.worker.address());
  auto answers = head->CallEvents(addresses, kWorkerTimeout);
  size_t calls = 0, silent = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    if (!answers[i].ok()) {
      ++silent;
      std::cerr << "warning: worker " << workers[i].worker.pid() << " at "
                << workers[i].worker.address() << " did not answer ("
                << answers[i].status().message() << "): its calls are left out\n";
      continue;
    }
    workers[i].calls = *std::move(answers[i]);
    calls += workers[i].calls.events_size();
  }

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
  std::cout << "wrote " << calls << " calls of " << workers.size() - silent << " workers to "
            << path << "\nopen it in https://ui.perfetto.dev or chrome://tracing\n";
  return absl::OkStatus();
}

}  // namespace

void AddTimelineCommand(CLI::App& app) {
  auto o = std::make_shared<TimelineOptions>();
  auto* cmd = app.add_subcommand(
      "timeline",
      "Write a Chrome trace of the calls and tasks the workers ran lately (each worker keeps "
      "its last 10,000)");
  AddClusterFlags(cmd, o->cluster);
  cmd->add_option("--job", o->job, "Only this job's workers (its id, or a unique prefix)");
  cmd->add_option("-o,--output", o->output,
                  "Where to write it (default: weft-timeline-<date>_<time>.json here; - for "
                  "standard output)");
  OnRun(cmd, o, &RunTimeline);
}

}  // namespace weft::cli
