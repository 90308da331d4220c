#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/code_upload.h"

namespace weft::internal {

// A job's code as the cluster takes it (issue 14): the libraries that register its actor
// classes and functions (CodeLibraries), each after the libraries of its own it needs, known
// by their content. What every node has is left out: the system's libraries (under /lib,
// /usr/lib, /lib64 and /usr/lib64) and Weft's own (libweft.so).
absl::StatusOr<std::vector<CodeFile>> JobCode();

}  // namespace weft::internal
