#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace weft {

// When a node stops its workers for want of its head, and when a worker stops for want of its
// node (see README "When things fail").
//
// The head declares a node dead once it has received no heartbeat for `node_timeout`. A
// heartbeat the head acknowledged was received no earlier than it was sent, so the head's
// verdict comes no earlier than (send time of the last acknowledged heartbeat) + node_timeout.
// The node fences at that send time + node_timeout - margin: strictly earlier, by a margin
// that covers a late timer and the kernel ending the killed workers.
inline absl::Duration FenceMargin(absl::Duration node_timeout, absl::Duration heartbeat_period) {
  return std::max(heartbeat_period, node_timeout / 4);
}

inline absl::Duration FenceAfter(absl::Duration node_timeout, absl::Duration heartbeat_period) {
  return node_timeout - FenceMargin(node_timeout, heartbeat_period);
}

// How long past its node's own fence time a worker may serve. A node that is running kills
// its workers itself when it fences, so a worker's own deadline matters only when its raylet
// is stopped; a worker that stopped exactly at its node's fence time would stop on its own
// whenever the node's deadline moved on (a late acknowledgement) after the worker last asked,
// while the node carries on. The grace is at most half the margin, so a worker still stops
// before the head's verdict: fence_after = T - M with M >= T/4 gives fence_after <= 3M, and
// fence_after / 6 <= M / 2.
inline absl::Duration WorkerGrace(absl::Duration fence_after) { return fence_after / 6; }

// What a node answers a worker's CheckNode: how long, counted from now, the worker may serve
// when the node itself fences in `node_left` (negative once that moment has passed).
inline absl::Duration WorkerServeFor(absl::Duration node_left, absl::Duration fence_after) {
  return std::max(absl::ZeroDuration(), node_left + WorkerGrace(fence_after));
}

}  // namespace weft
