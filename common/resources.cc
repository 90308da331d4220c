#include "common/resources.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace weft {

absl::StatusOr<ResourceMap> ParseResourcesJson(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("resources must be a JSON object of numbers, e.g. {\"GPU\": 1}: ",
                     status.message().as_string()));
  }
  ResourceMap out;
  for (const auto& [name, value] : parsed.fields()) {
    if (name.empty()) return absl::InvalidArgumentError("resource name must not be empty");
    if (name == "CPU" || name == "memory") {
      return absl::InvalidArgumentError(
          absl::StrCat("resource ", name, " is set with --num-cpus / --memory, not --resources"));
    }
    if (value.kind_case() != google::protobuf::Value::kNumberValue ||
        !std::isfinite(value.number_value()) || value.number_value() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource ", name, " must be a non-negative number"));
    }
    out[name] = value.number_value();
  }
  return out;
}

absl::Status ValidateResources(const ProtoResources& resources) {
  for (const auto& [name, amount] : resources) {
    if (name.empty()) return absl::InvalidArgumentError("resource name must not be empty");
    if (!std::isfinite(amount) || amount < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource ", name, " must be a non-negative number, not ", amount));
    }
  }
  return absl::OkStatus();
}

ResourceMap ToResourceMap(const ProtoResources& resources) {
  return ResourceMap(resources.begin(), resources.end());
}

std::string FormatResources(const ResourceMap& resources) {
  return absl::StrJoin(resources, " ", [](std::string* out, const auto& entry) {
    if (entry.first == "memory") {
      absl::StrAppend(out, "memory=", absl::StrFormat("%.1fGiB", entry.second / (1 << 30)));
    } else {
      absl::StrAppend(out, entry.first, "=", absl::StrFormat("%g", entry.second));
    }
  });
}

double TotalMemoryBytes() {
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

}  // namespace weft
