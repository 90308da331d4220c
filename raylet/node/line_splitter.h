#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace weft::node {

// Cuts a byte stream into lines. Pure logic, not thread-safe.
class LineSplitter {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;
  using Emit = std::function<void(std::string line)>;

  explicit LineSplitter(size_t max_line = kMaxLine) : max_line_(max_line) {}

  // Emits every line `bytes` completes, without its '\n'. A line longer than max_line goes
  // out in pieces of max_line bytes.
  void Feed(std::string_view bytes, const Emit& emit);

  // Emits the unfinished line, if any (the stream ended without a '\n').
  void Finish(const Emit& emit);

 private:
  const size_t max_line_;
  std::string partial_;
};

}  // namespace weft::node
