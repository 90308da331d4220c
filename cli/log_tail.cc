#include "cli/log_tail.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace weft::cli {
namespace {

// The tag of a "(Tag pid=123) text" line; empty when the line has no such prefix.
std::string_view TagOf(std::string_view line) {
  if (line.empty() || line.front() != '(') return {};
  const size_t close = line.find(") ");
  if (close == std::string_view::npos) return {};
  const std::string_view inside = line.substr(1, close - 1);
  const size_t pid = inside.rfind(" pid=");
  if (pid == std::string_view::npos || pid == 0) return {};
  const std::string_view digits = inside.substr(pid + 5);
  if (digits.empty()) return {};
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return {};
  }
  return inside.substr(0, pid);
}

}  // namespace

LogTail::~LogTail() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status LogTail::Open() {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ >= 0) return absl::OkStatus();
  const int error = errno;
  if (error == ENOENT && remote_) {  // on another machine: its node reads it
    auto start = remote_(0);
    if (!start.ok()) return start.status();
    remote_open_ = true;
    remote_offset_ = static_cast<int64_t>(start->size());
    partial_ = *std::move(start);
    return absl::OkStatus();
  }
  const std::string message = absl::StrCat("cannot read ", path_, ": ", std::strerror(error));
  return error == ENOENT   ? absl::NotFoundError(message)
         : error == EACCES ? absl::PermissionDeniedError(message)
                           : absl::UnavailableError(message);
}

void LogTail::ReadMore() {
  if (remote_open_) {
    for (;;) {  // a failed read (the node is gone) leaves what was read: nothing new
      auto chunk = remote_(remote_offset_);
      if (!chunk.ok() || chunk->empty()) return;
      remote_offset_ += static_cast<int64_t>(chunk->size());
      partial_ += *chunk;
      if (static_cast<int64_t>(chunk->size()) < kChunk) return;
    }
  }
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = fd_ < 0 ? 0 : ::read(fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial_.append(buffer, static_cast<size_t>(n));
  }
}

std::vector<std::string> LogTail::ReadLines(bool final) {
  ReadMore();
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = partial_.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.emplace_back(partial_, start, end - start);
  }
  partial_.erase(0, start);
  if (final && !partial_.empty()) lines.push_back(std::exchange(partial_, {}));
  return lines;
}

bool LineBelongsTo(std::string_view line, std::string_view class_name) {
  const std::string_view tag = TagOf(line);
  return tag.empty() || tag == class_name;
}

}  // namespace weft::cli
