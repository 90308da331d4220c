// weft job submit/list/status/logs/stop (issue 18), like `ray job`: run a driver on the
// cluster under its node's supervision, then follow it from anywhere.

#include <signal.h>
#include <unistd.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/head_client.h"
#include "cli/job_render.h"
#include "cli/job_upload.h"
#include "cli/log_tail.h"
#include "common/job_state.h"

namespace weft::cli {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kStateInterval = std::chrono::milliseconds(500);
// How long `weft job stop` waits for the driver to end (the head's grace is 10 s).
constexpr auto kStopWait = std::chrono::seconds(30);

// The exit status that stands for how the job's driver ended.
int ExitStatusOf(const proto::JobInfo& job) {
  if (job.state() == proto::JOB_SUCCEEDED) return 0;
  if (job.exit_signal() != 0) return 128 + job.exit_signal();
  return job.exit_code() > 0 ? job.exit_code() : 1;
}

// The address of the node that ran the job's driver.
absl::StatusOr<std::string> DriverNodeAddress(const HeadClient& head, const proto::JobInfo& job) {
  auto nodes = head.ListNodes();
  if (!nodes.ok()) return nodes.status();
  for (const auto& node : nodes->nodes()) {
    if (node.node_id() != job.driver_node_id()) continue;
    if (node.state() != proto::NODE_ALIVE) {
      return absl::UnavailableError(absl::StrCat("node ", node.node_id(), " that ran job ",
                                                 job.job_id(),
                                                 "'s driver is gone, with its output"));
    }
    return node.address();
  }
  return absl::NotFoundError(
      absl::StrCat("node ", job.driver_node_id(), " of job ", job.job_id(), " not found"));
}

// The driver's output, read by its node from an offset.
LogTail DriverOutput(const HeadClient& head, const std::string& node_address,
                     const std::string& job_id) {
  // No path: the node reads it, wherever it is.
  return LogTail("", [&head, node_address, job_id](int64_t offset) -> absl::StatusOr<std::string> {
    proto::ReadLogRequest request;
    request.set_job_id(job_id);
    request.set_offset(offset);
    request.set_max_bytes(LogTail::kChunk);
    auto read = head.ReadLog(node_address, request);
    if (!read.ok()) return read.status();
    return std::move(*read->mutable_data());
  });
}

void Print(LogTail& tail, bool final) {
  for (const auto& line : tail.ReadLines(final)) std::cout << line << "\n";
  std::cout.flush();
}

// Waits until the head knows where the job's driver runs (or the job ended without it),
// polling its record: a driver may take up its job (RUNNING) before the head hears it started.
absl::StatusOr<proto::JobInfo> AwaitDriver(const HeadClient& head, proto::JobInfo job) {
  while (job.state() == proto::JOB_PENDING ||
         (job.driver_node_id().empty() && !DriverEndKnown(job))) {
    std::this_thread::sleep_for(kStateInterval);
    auto now = head.GetJob(job.job_id());
    if (!now.ok()) return now.status();
    job = *std::move(now);
  }
  return job;
}

// Prints the driver's output from its start; with `follow`, until the job ends. Returns the
// job as last seen.
absl::StatusOr<proto::JobInfo> PrintOutput(const HeadClient& head, proto::JobInfo job,
                                           bool follow) {
  if (!job.has_submission()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job.job_id(), " was not submitted: its driver (pid ", job.driver_pid(), " on ",
        job.driver_host(), ") prints where it runs; its actors' output: weft logs actor"));
  }
  if (follow) {
    auto started = AwaitDriver(head, std::move(job));
    if (!started.ok()) return started.status();
    job = *std::move(started);
  }
  if (job.driver_node_id().empty()) return job;  // it never ran: no output
  auto node = DriverNodeAddress(head, job);
  if (!node.ok()) return node.status();
  LogTail tail = DriverOutput(head, *node, job.job_id());
  if (auto opened = tail.Open(); !opened.ok()) return opened;
  if (!follow) {
    Print(tail, /*final=*/true);
    return job;
  }
  auto next_check = std::chrono::steady_clock::now();
  for (;;) {
    Print(tail, false);
    if (std::chrono::steady_clock::now() >= next_check) {
      next_check += kStateInterval;
      auto now = head.GetJob(job.job_id());
      if (!now.ok()) return now.status();
      job = *std::move(now);
      if (DriverEndKnown(job)) {
        Print(tail, /*final=*/true);  // the file is complete once the driver is reaped
        return job;
      }
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// "job job-0003 SUCCEEDED" or "... FAILED: why", on stderr.
void SayOutcome(const proto::JobInfo& job) {
  std::cerr << "job " << job.job_id() << " " << JobStateName(job.state())
            << (job.end_reason().empty() ? "" : ": ") << job.end_reason() << "\n";
}

// Ctrl-C while following detaches: the job goes on.
char detach_note[256];
void Detach(int) {
  (void)!write(STDERR_FILENO, detach_note, strlen(detach_note));
  _exit(130);
}

struct SubmitOptions {
  ClusterFlags cluster;
  std::string working_dir;
  double num_cpus = 0;
  std::string resources;  // JSON
  std::vector<std::string> env;
  bool no_wait = false;
  std::vector<std::string> argv;
};

absl::Status ParseResources(const std::string& json, proto::JobSubmission& submission) {
  google::protobuf::Struct parsed;
  if (!google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resources must be a JSON object of numbers, as {\"GPU\": 1}: ", json));
  }
  for (const auto& [name, value] : parsed.fields()) {
    if (value.kind_case() != google::protobuf::Value::kNumberValue) {
      return absl::InvalidArgumentError(absl::StrCat("--resources: ", name, " is not a number"));
    }
    (*submission.mutable_resources())[name] = value.number_value();
  }
  return absl::OkStatus();
}

absl::Status RunSubmit(const SubmitOptions& o) {
  auto upload = PrepareJobUpload(o.argv, o.working_dir);
  if (!upload.ok()) return upload.status();
  auto& submission = upload->submission;
  if (!o.resources.empty()) {
    if (auto parsed = ParseResources(o.resources, submission); !parsed.ok()) return parsed;
  }
  if (o.num_cpus > 0) (*submission.mutable_resources())["CPU"] = o.num_cpus;
  for (const auto& entry : o.env) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--env takes NAME=VALUE, not ", entry));
    }
    (*submission.mutable_env())[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  submission.set_submitter_host(host);

  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  if (auto sent = head->SendCode(upload->files); !sent.ok()) return sent;
  auto job = head->SubmitJob(submission);
  if (!job.ok()) return job.status();
  std::cerr << "job " << job->job_id() << " submitted: " << job->entrypoint() << "\n";
  if (o.no_wait) {
    std::cout << job->job_id() << "\n";
    std::cerr << "follow it with: weft job logs " << job->job_id() << " --follow\n";
    return absl::OkStatus();
  }
  snprintf(detach_note, sizeof(detach_note),
           "\ndetached: job %s goes on (weft job status %s, weft job logs %s --follow)\n",
           job->job_id().c_str(), job->job_id().c_str(), job->job_id().c_str());
  signal(SIGINT, Detach);
  auto ended = PrintOutput(*head, *std::move(job), /*follow=*/true);
  if (!ended.ok()) return ended.status();
  SayOutcome(*ended);
  throw ExitWith{ExitStatusOf(*ended)};
}

struct JobOptions {
  ClusterFlags cluster;
  std::string job;
  std::string format = "table";
  bool follow = false;
  bool no_wait = false;
};

absl::Status RunStatus(const JobOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto job = head->FindJob(o.job);
  if (!job.ok()) return job.status();
  std::cout << (o.format == "json" ? RenderJobJson(*job) : RenderJobStatus(*job));
  return absl::OkStatus();
}

absl::Status RunLogs(const JobOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto job = head->FindJob(o.job);
  if (!job.ok()) return job.status();
  auto ended = PrintOutput(*head, *std::move(job), o.follow);
  if (!ended.ok()) return ended.status();
  if (o.follow) SayOutcome(*ended);
  return absl::OkStatus();
}

absl::Status RunStop(const JobOptions& o) {
  auto head = HeadClient::Connect(o.cluster);
  if (!head.ok()) return head.status();
  auto found = head->FindJob(o.job);
  if (!found.ok()) return found.status();
  auto job = head->StopJob(found->job_id());
  if (!job.ok()) return job.status();
  const auto deadline = std::chrono::steady_clock::now() + kStopWait;
  while (!o.no_wait && !DriverEndKnown(*job) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kStateInterval);
    job = head->GetJob(job->job_id());
    if (!job.ok()) return job.status();
  }
  if (!o.no_wait && !DriverEndKnown(*job)) {
    return absl::DeadlineExceededError(absl::StrCat("job ", job->job_id(), " is still ",
                                                    JobStateName(job->state()), " after ",
                                                    kStopWait.count(), " s"));
  }
  std::cout << "job " << job->job_id() << " " << JobStateName(job->state()) << "\n";
  return absl::OkStatus();
}

absl::Status RunList(const JobOptions& o) { return PrintJobs(o.cluster, o.format); }

CLI::App* JobSubcommand(CLI::App* job, const std::string& name, const std::string& help,
                        std::shared_ptr<JobOptions> o, absl::Status (*run)(const JobOptions&)) {
  auto* cmd = job->add_subcommand(name, help);
  AddClusterFlags(cmd, o->cluster);
  if (name != "list")
    cmd->add_option("job", o->job, "The job's id, or a unique prefix")->required();
  OnRun(cmd, o, run);
  return cmd;
}

}  // namespace

void AddJobCommand(CLI::App& app) {
  auto* job = app.add_subcommand("job", "Run a driver on the cluster and follow it (like ray job)");
  job->require_subcommand(1);

  auto s = std::make_shared<SubmitOptions>();
  auto* submit = job->add_subcommand(
      "submit",
      "Send a driver program (and the libraries it needs that are not the system's) to the "
      "cluster, run it on a node under supervision, and follow its output until it ends; "
      "exits as the driver did. Ctrl-C detaches.");
  AddClusterFlags(submit, s->cluster);
  submit->add_option("--working-dir", s->working_dir,
                     "Send this directory's files as the driver's working directory (at most "
                     "1,000 files, 100 MiB)");
  submit->add_option("--num-cpus", s->num_cpus, "CPUs the driver holds while it runs (default 0)")
      ->check(CLI::NonNegativeNumber);
  submit->add_option("--resources", s->resources,
                     "Other resources the driver holds, as JSON: {\"GPU\": 1}");
  submit->add_option("--env", s->env, "NAME=VALUE for the driver's environment (repeatable)");
  submit->add_flag("--no-wait", s->no_wait, "Print the job id and return at once");
  submit->add_option("entrypoint", s->argv, "-- then the program and its arguments")->required();

  auto list = std::make_shared<JobOptions>();
  AddFormatFlag(JobSubcommand(job, "list", "Every job: submitted ones and drivers run by hand",
                              list, &RunList),
                list->format);
  auto status = std::make_shared<JobOptions>();
  AddFormatFlag(
      JobSubcommand(job, "status", "A job's state, node, times and exit", status, &RunStatus),
      status->format);
  auto logs = std::make_shared<JobOptions>();
  JobSubcommand(job, "logs", "A submitted job's output (its driver's, with its workers' lines)",
                logs, &RunLogs)
      ->add_flag("--follow,-f", logs->follow, "Keep printing until the job ends");
  auto stop = std::make_shared<JobOptions>();
  JobSubcommand(job, "stop",
                "Stop a submitted job: SIGTERM to its driver, SIGKILL after 10 s; waits for it",
                stop, &RunStop)
      ->add_flag("--no-wait", stop->no_wait, "Return once the stop is asked");
  OnRun(submit, s, &RunSubmit);
}

}  // namespace weft::cli
