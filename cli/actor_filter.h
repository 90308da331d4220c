#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "head.pb.h"

namespace weft::cli {

// One `--filter key=value` of `weft list actors`. Keys: state (ALIVE, PENDING, RESTARTING,
// DEAD; any case), class, name, node (node id or a prefix of it), job.
struct ActorFilter {
  std::string key;
  std::string value;
};

// INVALID_ARGUMENT naming the known keys when `text` is not key=value with a known key, or
// names an unknown state.
[[nodiscard]] absl::StatusOr<ActorFilter> ParseActorFilter(const std::string& text);

// True when `actor` passes every filter (an empty list passes everything).
bool MatchesAll(const std::vector<ActorFilter>& filters, const proto::ActorInfo& actor);

// The one actor whose id starts with `prefix` (an exact id match wins). NOT_FOUND
// "actor <prefix> not found"; INVALID_ARGUMENT listing the candidates when several match.
[[nodiscard]] absl::StatusOr<proto::ActorInfo> SelectByIdPrefix(
    const std::vector<proto::ActorInfo>& actors, const std::string& prefix);

// "ALIVE", "PENDING", "RESTARTING", "DEAD" or "UNKNOWN".
std::string ActorStateName(proto::ActorState state);

}  // namespace weft::cli
