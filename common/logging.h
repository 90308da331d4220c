#pragma once

// Include this instead of <spdlog/spdlog.h>: it also teaches fmt to print absl::string_view
// (Debian's Abseil has its own string_view type, e.g. what absl::Status::message() returns).

#include <spdlog/spdlog.h>

#include <string>

#include "absl/strings/string_view.h"

template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};

namespace weft {

// Makes a logger named after the component ("head", "node", "worker", "cli") the default
// spdlog logger, writing to stderr, or appending to `file` when one is given. The level comes
// from $WEFT_LOG_LEVEL (trace..off), info by default.
void InitLogging(const std::string& component, const std::string& file = "");

}  // namespace weft
