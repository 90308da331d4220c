#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common.pb.h"
#include "raylet/node/code_cache.h"
#include "raylet/node/worker_pool.h"

namespace weft::node {

// Lays a submitted job's files out on this node (issue 18), each fetched through the node's
// CodeCache (from the head's CodeStore, checked against its hash), under `jobs_dir/<job_id>`:
// bin/<executable> (a copy that may run), lib/<library> (the cached copies, under the names
// the executable asks the loader for) and cwd/ (a copy of the working directory's files). Then
// calls `done`, once, with how to start the driver: argv with the executable's path first,
// LD_LIBRARY_PATH (lib/, then the submission's own) with the submission's environment, and
// cwd/. Runs on a fetch's thread, or at once. FAILED_PRECONDITION for an executable that is
// not an ELF file of this machine's architecture; a fetch's error otherwise.
using StageDone = std::function<void(absl::StatusOr<WorkerPool::DriverLaunch>)>;
void StageDriver(CodeCache& code, const std::string& jobs_dir, const std::string& job_id,
                 const proto::JobSubmission& submission, StageDone done);

// How much of a driver's output its node keeps (the start of it; a note marks the cut).
inline constexpr int64_t kDriverOutputBytes = int64_t{100} << 20;

// The last non-empty line of the file at `path` (from its last 4 KiB), at most 300 bytes: why
// a driver failed, most often.
std::string LastLineOf(const std::string& path);

// OK when the file at `path` is an ELF executable or library of this machine's architecture.
absl::Status CheckRunsHere(const std::string& path, const std::string& name);

}  // namespace weft::node
