#pragma once

#include <google/protobuf/map.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace weft {

using ResourceMap = std::map<std::string, double>;
// Resources as they travel in messages (NodeInfo.total, HeartbeatRequest.available, ...).
using ProtoResources = google::protobuf::Map<std::string, double>;

// Parses custom resources given as a JSON object of non-negative numbers, e.g.
// {"GPU": 2, "accelerator_type:A100": 1}. "CPU" and "memory" are refused: they have flags.
[[nodiscard]] absl::StatusOr<ResourceMap> ParseResourcesJson(const std::string& json);

// OK when every name is non-empty and every amount finite and non-negative; else
// INVALID_ARGUMENT naming the offender. Every edge that accepts resources checks this.
[[nodiscard]] absl::Status ValidateResources(const ProtoResources& resources);

ResourceMap ToResourceMap(const ProtoResources& resources);

// "CPU=2 GPU=1 memory=8.0GiB": a compact human rendering.
std::string FormatResources(const ResourceMap& resources);

// Bytes of physical memory on this machine.
double TotalMemoryBytes();

}  // namespace weft
