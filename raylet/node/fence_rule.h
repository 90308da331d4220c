#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace weft::node {

// When a node stops its workers for want of its head (see README "When things fail").
//
// The head declares a node dead once it has received no heartbeat for `node_timeout`. A
// heartbeat the head acknowledged was received no earlier than it was sent, so the head's
// verdict comes no earlier than (send time of the last acknowledged heartbeat) + node_timeout.
// The node fences at that send time + node_timeout - margin: strictly earlier, by a margin
// that covers a late timer and the kernel ending the killed workers. Its workers stop at the
// same moment or earlier (CheckNode's serve_for_ms counts from the request's sending).
inline absl::Duration FenceMargin(absl::Duration node_timeout, absl::Duration heartbeat_period) {
  return std::max(heartbeat_period, node_timeout / 4);
}

inline absl::Duration FenceAfter(absl::Duration node_timeout, absl::Duration heartbeat_period) {
  return node_timeout - FenceMargin(node_timeout, heartbeat_period);
}

}  // namespace weft::node
