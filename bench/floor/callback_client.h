#pragma once

#include "absl/status/statusor.h"
#include "echo.grpc.pb.h"
#include "measure.h"

namespace weft::floor {

// grpc_unary_callback_*: `calls` Unary calls of a small payload on the callback API, keeping
// `in_flight` outstanding until all have completed. Latency is start to callback.
[[nodiscard]] absl::StatusOr<CaseResult> RunUnaryCallback(Echo::Stub& stub, int calls,
                                                          int in_flight);

// grpc_bidi_stream: one Stream call on which the client writes `messages` small messages back
// to back (one write outstanding) while reading their echoes. ops/s counts echoes; no latency.
[[nodiscard]] absl::StatusOr<CaseResult> RunBidiStream(Echo::Stub& stub, int messages);

}  // namespace weft::floor
