#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "echo.grpc.pb.h"
#include "measure.h"

namespace weft::floor {

// A stub on a connection of its own (not shared with other channels) to the echo server on
// 127.0.0.1:`port`, connected within `timeout`.
[[nodiscard]] absl::StatusOr<std::unique_ptr<Echo::Stub>> ConnectEcho(int port,
                                                                      absl::Duration timeout);

// grpc_unary_sync: `calls` sync Unary calls of a small payload, one at a time.
[[nodiscard]] absl::StatusOr<CaseResult> RunUnarySync(Echo::Stub& stub, int calls);

// grpc_bytes_*: `fetches` Fetch calls one at a time, each gathering `total_bytes` (sent in
// `chunk_bytes` messages) into a new contiguous string reserved up front, as a user's Get of
// an object of that size has to. Latency is per fetch.
[[nodiscard]] absl::StatusOr<CaseResult> RunFetch(Echo::Stub& stub, int fetches,
                                                  uint64_t total_bytes, uint64_t chunk_bytes);

}  // namespace weft::floor
