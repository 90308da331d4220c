#include "cli/job_render.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace weft::cli {

std::string JobStateName(proto::JobState state) {
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
    out += absl::StrFormat("%-10s %-9s %-24s %-20s %s\n", job.job_id(), JobStateName(job.state()),
                           absl::StrFormat("pid %d on %s", job.driver_pid(), job.driver_host()),
                           started, job.end_reason());
  }
  return out;
}

std::string RenderJobsJson(const proto::ListJobsReply& reply) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(reply, &json, options);
  return json;
}

}  // namespace weft::cli
