#pragma once

#include <optional>
#include <string>
#include <vector>

#include "head.pb.h"
#include "worker.pb.h"

namespace weft::cli {

// What the actor commands show of one actor: the head's record, plus the call counts its
// worker reported.
struct ActorRow {
  proto::ActorInfo info;
  std::optional<proto::ActorStats> stats;  // empty: no worker, or the worker did not answer
};

// Renderings for `weft list actors` and `weft get actor`; pure functions, no I/O.
// JSON keys are the snake_case proto field names plus running, queued and finished (null
// when unknown); the same keys in every rendering.

// One row per actor: id, class, name, state, node, pid, executor, max concurrency, running
// and queued calls, restarts, and the reason of a PENDING or DEAD actor.
std::string RenderActorsTable(const std::vector<ActorRow>& rows);
// A JSON array of one object per actor.
std::string RenderActorsJson(const std::vector<ActorRow>& rows);
// Every field, one `key: value` line each; `-` for empty values.
std::string RenderActorDetails(const ActorRow& row);
// A JSON object with every field.
std::string RenderActorJson(const ActorRow& row);

}  // namespace weft::cli
