// weft list jobs: every job the head knows (one per driver), with its state and driver.

#include <google/protobuf/util/json_util.h>

#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/head_client.h"

namespace weft::cli {
namespace {

struct ListJobsOptions {
  ClusterFlags cluster;
  std::string format = "table";
};

std::string StateName(proto::JobState state) {
  switch (state) {
    case proto::JOB_RUNNING:
      return "RUNNING";
    case proto::JOB_FINISHED:
      return "FINISHED";
    case proto::JOB_FAILED:
      return "FAILED";
    default:
      return "UNKNOWN";
  }
}

std::string RenderJobsTable(const proto::ListJobsReply& reply) {
  std::string out = absl::StrFormat("%-10s %-9s %-24s %-20s %s\n", "JOB", "STATE", "DRIVER",
                                    "STARTED", "END REASON");
  for (const auto& job : reply.jobs()) {
    const std::string started = absl::FormatTime(
        "%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(job.start_unix_ms()), absl::LocalTimeZone());
    out += absl::StrFormat("%-10s %-9s %-24s %-20s %s\n", job.job_id(), StateName(job.state()),
                           absl::StrFormat("pid %d on %s", job.driver_pid(), job.driver_host()),
                           started, job.end_reason());
  }
  return out;
}

absl::Status RunListJobs(const ListJobsOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto jobs = head->ListJobs();
  if (!jobs.ok()) return jobs.status();
  if (o.format == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(*jobs, &json, options);
    std::cout << json;
  } else {
    std::cout << RenderJobsTable(*jobs);
  }
  return absl::OkStatus();
}

}  // namespace

void AddListJobsCommand(CLI::App& list) {
  auto o = std::make_shared<ListJobsOptions>();
  auto* cmd = list.add_subcommand("jobs", "Jobs with state (RUNNING, FINISHED, FAILED) and driver");
  AddClusterFlags(cmd, o->cluster);
  AddFormatFlag(cmd, o->format);
  OnRun(cmd, o, &RunListJobs);
}

}  // namespace weft::cli
