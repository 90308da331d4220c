#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace weft::cli {

// Follows a file that another process appends to (a worker's stdout or stderr log): each
// ReadLines() returns the complete lines added since the previous call. Not thread-safe.
//
// A file that is not on this machine is read through `remote` instead: the bytes from an
// offset, as the node that keeps the file reads them (NodeLogs.ReadLog); at most `kChunk` per
// call, fewer once it has reached the end.
class LogTail {
 public:
  using RemoteRead = std::function<absl::StatusOr<std::string>(int64_t offset)>;
  static constexpr int64_t kChunk = 1 << 20;

  explicit LogTail(std::string path, RemoteRead remote = nullptr)
      : path_(std::move(path)), remote_(std::move(remote)) {}
  ~LogTail();
  LogTail(const LogTail&) = delete;
  LogTail& operator=(const LogTail&) = delete;

  // Opens the file at its start, or, when it is not on this machine, reads its start through
  // `remote`. NOT_FOUND or PERMISSION_DENIED (with the path) on failure, or what `remote` says.
  [[nodiscard]] absl::Status Open();
  // Whether it reads through `remote`.
  bool remote() const { return remote_open_; }

  // The lines completed since the last call, without their '\n'. A line still being written
  // waits for its end, unless `final` is set (the writer is gone): then it is returned too.
  std::vector<std::string> ReadLines(bool final = false);

  const std::string& path() const { return path_; }

 private:
  // What the file gained since the last read, from the file or through `remote`.
  void ReadMore();

  std::string path_;
  RemoteRead remote_;
  bool remote_open_ = false;
  int64_t remote_offset_ = 0;
  int fd_ = -1;
  std::string partial_;  // bytes after the last '\n' read so far
};

// Whether a worker's output line belongs to an actor of class `class_name`: lines tagged
// "(Tag pid=N) ..." belong to the actor whose class is Tag; untagged lines belong to all.
bool LineBelongsTo(std::string_view line, std::string_view class_name);

}  // namespace weft::cli
