#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common.pb.h"

namespace weft {

// A job's code libraries as content (issue 14): the driver, the head, nodes and workers name a
// library by the SHA-256 of its bytes (proto::CodeLibrary), never by the path it had on the
// driver's machine.

// Bytes per CodeChunk message.
inline constexpr size_t kCodeChunkBytes = 1 << 20;
// The largest library the cluster takes (libraries with debug information run to hundreds of
// MiB; the head keeps each on disk once).
inline constexpr int64_t kMaxCodeLibraryBytes = int64_t{2} << 30;

// The SHA-256 of bytes given piece by piece, as lowercase hex.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // once

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The library in the file `path`: its SHA-256, file name and size.
absl::StatusOr<proto::CodeLibrary> DescribeLibrary(const std::string& path);

// INVALID_ARGUMENT unless `library` has a SHA-256 in lowercase hex, a plain file name (no '/',
// not "." or "..", at most 255 bytes) and a size within kMaxCodeLibraryBytes: what a head or
// node checks before a name or hash makes a path.
absl::Status CheckLibrary(const proto::CodeLibrary& library);

// Writes a library that arrives in pieces to `path`, through a temporary file beside it that
// takes its place only once the bytes have the library's size and SHA-256 (readers never see a
// partial or altered copy). Removes the temporary file unless Commit succeeded.
class CodeFileWriter {
 public:
  static absl::StatusOr<std::unique_ptr<CodeFileWriter>> Create(const std::string& path,
                                                                proto::CodeLibrary library);
  ~CodeFileWriter();
  // DATA_LOSS past the library's size.
  absl::Status Append(std::string_view bytes);
  // DATA_LOSS naming the library when its size or hash is not what was said.
  absl::Status Commit();

 private:
  CodeFileWriter(std::string path, std::string temp, int fd, proto::CodeLibrary library);

  const std::string path_;
  const std::string temp_;
  int fd_;
  const proto::CodeLibrary library_;
  int64_t written_ = 0;
  Sha256 hash_;
  bool committed_ = false;
};

}  // namespace weft
