#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "weft/error.h"

namespace weft {
namespace {

std::string Describe(const std::string& type, const std::string& message,
                     const RemoteOrigin& origin, const std::vector<std::string>& via) {
  std::string text = type.empty() ? message : absl::StrCat(type, ": ", message);
  std::string where;
  if (!origin.class_name.empty()) {
    absl::StrAppend(&where, "in ", origin.class_name,
                    origin.method.empty() ? "" : absl::StrCat(".", origin.method));
  }
  if (!origin.call_name.empty()) {
    absl::StrAppend(&where, where.empty() ? "" : " ", "\"", origin.call_name, "\"");
  }
  auto add = [&](const char* label, const std::string& value) {
    if (value.empty()) return;
    absl::StrAppend(&where, where.empty() ? "" : ", ", label, " ", value);
  };
  add("actor", origin.actor_id);
  add("node", origin.node_id);
  if (origin.pid) add("pid", std::to_string(origin.pid));
  for (const auto& hop : via) absl::StrAppend(&where, where.empty() ? "" : "; ", "via ", hop);
  return where.empty() ? text : absl::StrCat(text, " (", where, ")");
}

}  // namespace

RemoteError::RemoteError(int code, std::string type, std::string message, RemoteOrigin origin,
                         std::vector<std::string> via)
    : Error(code, Describe(type, message, origin, via)),
      type_(std::move(type)),
      message_(std::move(message)),
      origin_(std::move(origin)),
      via_(std::move(via)) {}

namespace internal {
std::string DemangledName(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? demangled.get() : type.name();
}
}  // namespace internal

}  // namespace weft
