#pragma once

// Listing the head's actors, for `weft list actors` and weft::ListActors: filter terms, state
// names, id prefixes, and the loop over ListActors pages.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "head.pb.h"

namespace weft {

// One key=value term of an actor filter (`weft list actors --filter`). Keys: state (ALIVE,
// PENDING, RESTARTING, DEAD; any case), class, name, node (node id or a prefix of it), job.
struct ActorFilterTerm {
  std::string key;
  std::string value;
};

// INVALID_ARGUMENT naming the known keys when `text` is not key=value with a known key, or
// names an unknown state.
[[nodiscard]] absl::StatusOr<ActorFilterTerm> ParseActorFilter(const std::string& text);

// True when `actor` passes every term (an empty list passes everything).
bool MatchesAll(const std::vector<ActorFilterTerm>& terms, const proto::ActorInfo& actor);

// The one actor whose id starts with `prefix` (an exact id match wins). NOT_FOUND
// "actor <prefix> not found"; INVALID_ARGUMENT listing the candidates when several match.
[[nodiscard]] absl::StatusOr<proto::ActorInfo> SelectByIdPrefix(
    const std::vector<proto::ActorInfo>& actors, const std::string& prefix);

// "ALIVE", "PENDING", "RESTARTING", "DEAD" or "UNKNOWN".
const char* ActorStateName(proto::ActorState state);

// Actors asked of the head per ListActors request (`weft list actors --page-size`).
inline constexpr int kActorPageSize = 1000;

// Asks the head for one page of actors.
using ActorPageCall =
    std::function<absl::Status(const proto::ListActorsRequest&, proto::ListActorsReply*)>;

// Every actor, asked for `page_size` at a time, page after page, keeping those that pass
// `terms`. The first failing call's status is returned as it is; INTERNAL when the head answers
// a page token that does not move on (ids only grow from page to page: that would loop).
[[nodiscard]] absl::StatusOr<std::vector<proto::ActorInfo>> ListAllActors(
    const ActorPageCall& ask, int page_size, const std::vector<ActorFilterTerm>& terms = {});

}  // namespace weft
