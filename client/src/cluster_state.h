#pragma once

// The head's records of actors and nodes as the public API gives them (weft/state.h).

#include "common.pb.h"
#include "head.pb.h"
#include "weft/cluster.h"
#include "weft/state.h"

namespace weft::internal {

ActorInfo ToActorInfo(const proto::ActorInfo& actor);
NodeInfo ToNodeInfo(const proto::NodeInfo& node);

}  // namespace weft::internal
