#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common.pb.h"
#include "common/code_upload.h"

namespace weft::cli {

// What `weft job submit` sends the cluster (issue 18), each file known by its content: the
// entrypoint's executable, the shared libraries it loads that are not the system's (Weft's
// own included: the driver runs with the library it was built against), and the files of the
// working directory.
struct JobUpload {
  proto::JobSubmission submission;  // argv, executable, libraries and working_dir set
  std::vector<CodeFile> files;      // what to send the head first
};

// `argv[0]` is found as a shell finds it (a path, else a name on $PATH); `working_dir` may be
// empty. Errors, before anything is sent: NOT_FOUND for an entrypoint that does not exist,
// FAILED_PRECONDITION for one that is not a compiled (ELF) program or needs a library this
// machine does not find, INVALID_ARGUMENT for a working directory over kMaxWorkingDirFiles or
// kMaxWorkingDirBytes.
absl::StatusOr<JobUpload> PrepareJobUpload(const std::vector<std::string>& argv,
                                           const std::string& working_dir);

// The shared libraries the program at `path` loads, as the loader finds them (ldd): the name
// it asks for and where it is found, in load order. FAILED_PRECONDITION naming a library that
// is not found.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> NeededLibraries(
    const std::string& path);

}  // namespace weft::cli
