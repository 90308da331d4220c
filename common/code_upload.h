#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "code.grpc.pb.h"

namespace weft {

// A file of a job's code on this machine, and what the cluster knows it by (its content).
struct CodeFile {
  std::string path;
  proto::CodeLibrary library;
};

// The most files and bytes a submitted job's working directory may have (as Ray's default).
inline constexpr int kMaxWorkingDirFiles = 1000;
inline constexpr int64_t kMaxWorkingDirBytes = int64_t{100} << 20;

// Whether a shared library at `path` is the system's (under /lib, /usr/lib, /lib64 or
// /usr/lib64): every node has its own, from its packages, so it never travels.
bool IsSystemLibrary(const std::string& path);

// Sends the head's CodeStore the files of `code` it does not have yet (it is asked first, so
// that what the cluster has never travels again).
absl::Status SendCode(proto::CodeStore::Stub& head, const std::vector<CodeFile>& code);

}  // namespace weft
