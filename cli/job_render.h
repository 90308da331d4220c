#pragma once

#include <string>

#include "head.pb.h"

namespace weft::cli {

// Renderings for `weft list jobs` and `weft job`; pure functions of the reply, no I/O.

// RUNNING, FINISHED, FAILED, PENDING, SUCCEEDED, STOPPED (UNKNOWN for anything else).
std::string JobStateName(proto::JobState state);
// `weft job status`: one "field: value" line each (entrypoint, node, times, exit, reason).
std::string RenderJobStatus(const proto::JobInfo& job);
// One job as JSON, with the snake_case proto field names, every field present.
std::string RenderJobJson(const proto::JobInfo& job);
// One row per job: id, state, driver (pid and host), start time, end reason.
std::string RenderJobsTable(const proto::ListJobsReply& reply);
// {"jobs": [...]} with the snake_case proto field names, every field present.
std::string RenderJobsJson(const proto::ListJobsReply& reply);

}  // namespace weft::cli
