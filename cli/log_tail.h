#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace weft::cli {

// Follows a file that another process appends to (a worker's stdout or stderr log): each
// ReadLines() returns the complete lines added since the previous call. Not thread-safe.
class LogTail {
 public:
  explicit LogTail(std::string path) : path_(std::move(path)) {}
  ~LogTail();
  LogTail(const LogTail&) = delete;
  LogTail& operator=(const LogTail&) = delete;

  // Opens the file at its start. NOT_FOUND or PERMISSION_DENIED (with the path) on failure.
  [[nodiscard]] absl::Status Open();

  // The lines completed since the last call, without their '\n'. A line still being written
  // waits for its end, unless `final` is set (the writer is gone): then it is returned too.
  std::vector<std::string> ReadLines(bool final = false);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string partial_;  // bytes after the last '\n' read so far
};

// Whether a worker's output line belongs to an actor of class `class_name`: lines tagged
// "(Tag pid=N) ..." belong to the actor whose class is Tag; untagged lines belong to all.
bool LineBelongsTo(std::string_view line, std::string_view class_name);

}  // namespace weft::cli
