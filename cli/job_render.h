#pragma once

#include <string>

#include "head.pb.h"

namespace weft::cli {

// Renderings for `weft list jobs`; pure functions of the reply, no I/O.

// RUNNING, FINISHED, FAILED (UNKNOWN for anything else).
std::string JobStateName(proto::JobState state);
// One row per job: id, state, driver (pid and host), start time, end reason.
std::string RenderJobsTable(const proto::ListJobsReply& reply);
// {"jobs": [...]} with the snake_case proto field names, every field present.
std::string RenderJobsJson(const proto::ListJobsReply& reply);

}  // namespace weft::cli
