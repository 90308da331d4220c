#pragma once

#include "absl/status/status.h"

namespace weft::floor {

// `grpc-floor --serve`: runs the Echo service (callback API, insecure) on 127.0.0.1 with an
// ephemeral port, prints the port as one line on stdout, and serves until stdin reaches EOF.
// Returns an error if the server could not start.
[[nodiscard]] absl::Status ServeUntilStdinCloses();

}  // namespace weft::floor
