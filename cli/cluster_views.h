#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/actor_render.h"
#include "cli/head_client.h"
#include "cli/object_render.h"
#include "common/actor_listing.h"

namespace weft::cli {

// What the list commands show, fetched in one place: `weft list` renders it, and the head's
// dashboard serves the same JSON (raylet/dashboard), so the two never disagree.

// The actors that pass `filters`, each with the call counts its worker reported (every
// worker asked at once, for at most a second; those that do not answer show none).
[[nodiscard]] absl::StatusOr<std::vector<ActorRow>> FetchActorRows(
    const HeadClient& head, const std::vector<ActorFilterTerm>& filters,
    int page_size = kActorPageSize);

// One actor's row: `actor` with the call counts its worker reports, when ALIVE.
[[nodiscard]] ActorRow WithCallCounts(const HeadClient& head, proto::ActorInfo actor);

// The head's object directory, with what holds each object as its owner says.
struct ObjectsView {
  proto::ListObjectsReply objects;
  References references;
};
[[nodiscard]] absl::StatusOr<ObjectsView> FetchObjects(const HeadClient& head);

}  // namespace weft::cli
