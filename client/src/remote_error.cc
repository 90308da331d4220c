#include "absl/strings/str_cat.h"
#include "weft/error.h"

namespace weft {
namespace {

std::string Describe(const std::string& type, const std::string& message,
                     const RemoteOrigin& origin) {
  std::string text = type.empty() ? message : absl::StrCat(type, ": ", message);
  std::string where;
  if (!origin.class_name.empty()) {
    absl::StrAppend(&where, "in ", origin.class_name,
                    origin.method.empty() ? "" : absl::StrCat(".", origin.method));
  }
  auto add = [&](const char* label, const std::string& value) {
    if (value.empty()) return;
    absl::StrAppend(&where, where.empty() ? "" : ", ", label, " ", value);
  };
  add("actor", origin.actor_id);
  add("node", origin.node_id);
  if (origin.pid) add("pid", std::to_string(origin.pid));
  return where.empty() ? text : absl::StrCat(text, " (", where, ")");
}

}  // namespace

RemoteError::RemoteError(int code, std::string type, std::string message, RemoteOrigin origin)
    : Error(code, Describe(type, message, origin)),
      type_(std::move(type)),
      message_(std::move(message)),
      origin_(std::move(origin)) {}

}  // namespace weft
