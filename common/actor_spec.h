#pragma once

#include "absl/status/status.h"
#include "head.pb.h"

namespace weft {

// OK when the head can register `spec`; else INVALID_ARGUMENT saying what is wrong. The head
// checks every creation with it, and a driver checks before sending one it does not wait for.
[[nodiscard]] absl::Status CheckActorSpec(const proto::ActorSpec& spec);

}  // namespace weft
