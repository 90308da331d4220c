#include "cli/job_render.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace weft::cli {
namespace {

// JSON with the snake_case proto field names, every field present.
std::string FieldsJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace

std::string JobStateName(proto::JobState state) {
  switch (state) {
    case proto::JOB_RUNNING:
      return "RUNNING";
    case proto::JOB_FINISHED:
      return "FINISHED";
    case proto::JOB_FAILED:
      return "FAILED";
    case proto::JOB_PENDING:
      return "PENDING";
    case proto::JOB_SUCCEEDED:
      return "SUCCEEDED";
    case proto::JOB_STOPPED:
      return "STOPPED";
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
    out += absl::StrFormat("%-10s %-9s %-24s %-20s %s\n", job.job_id(), JobStateName(job.state()),
                           job.driver_pid() == 0 ? std::string("-")
                                                 : absl::StrFormat("pid %d on %s", job.driver_pid(),
                                                                   job.driver_host()),
                           started, job.end_reason());
  }
  return out;
}

std::string RenderJobStatus(const proto::JobInfo& job) {
  const auto when = [](int64_t unix_ms) {
    return unix_ms == 0 ? std::string("-")
                        : absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms),
                                           absl::LocalTimeZone());
  };
  std::string out = absl::StrFormat("job:        %s\nstate:      %s\nentrypoint: %s\n",
                                    job.job_id(), JobStateName(job.state()), job.entrypoint());
  if (job.has_submission()) {
    absl::StrAppendFormat(&out, "submitted:  from %s\nnode:       %s\n",
                          job.submission().submitter_host(),
                          job.driver_node_id().empty() ? "-" : job.driver_node_id());
  }
  if (job.driver_pid() != 0) {
    absl::StrAppendFormat(&out, "driver:     pid %d on %s\n", job.driver_pid(), job.driver_host());
  }
  absl::StrAppendFormat(&out, "started:    %s\nended:      %s\n", when(job.start_unix_ms()),
                        when(job.end_unix_ms()));
  if (job.exit_signal() != 0) {
    absl::StrAppendFormat(&out, "signal:     %d\n", job.exit_signal());
  } else if (job.has_submission() &&
             (job.state() == proto::JOB_SUCCEEDED || job.exit_code() != 0)) {
    absl::StrAppendFormat(&out, "exit code:  %d\n", job.exit_code());
  }
  if (!job.end_reason().empty()) absl::StrAppendFormat(&out, "reason:     %s\n", job.end_reason());
  return out;
}

std::string RenderJobJson(const proto::JobInfo& job) { return FieldsJson(job); }

std::string RenderJobsJson(const proto::ListJobsReply& reply) { return FieldsJson(reply); }

}  // namespace weft::cli
