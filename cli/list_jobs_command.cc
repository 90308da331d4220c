// weft list jobs: every job the head knows (one per driver), with its state and driver.

#include <iostream>

#include "cli/command.h"
#include "cli/head_client.h"
#include "cli/job_render.h"

namespace weft::cli {
namespace {

struct ListJobsOptions {
  ClusterFlags cluster;
  std::string format = "table";
};

absl::Status RunListJobs(const ListJobsOptions& o) { return PrintJobs(o.cluster, o.format); }

}  // namespace

absl::Status PrintJobs(const ClusterFlags& cluster, const std::string& format) {
  auto head = HeadClient::Connect(cluster);
  if (!head.ok()) return head.status();
  auto jobs = head->ListJobs();
  if (!jobs.ok()) return jobs.status();
  std::cout << (format == "json" ? RenderJobsJson(*jobs) : RenderJobsTable(*jobs));
  return absl::OkStatus();
}

void AddListJobsCommand(CLI::App& list) {
  auto o = std::make_shared<ListJobsOptions>();
  auto* cmd = list.add_subcommand("jobs", "Jobs with state (RUNNING, FINISHED, FAILED) and driver");
  AddClusterFlags(cmd, o->cluster);
  AddFormatFlag(cmd, o->format);
  OnRun(cmd, o, &RunListJobs);
}

}  // namespace weft::cli
