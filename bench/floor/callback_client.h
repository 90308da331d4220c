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

// grpc_bidi_pingpong_callback: one Stream call on which the calling thread writes a small
// message and waits until a callback thread hands it the echo, `messages` times: Weft's shape of
// a call made one at a time, without Weft. Latency is write to echo in the calling thread.
[[nodiscard]] absl::StatusOr<CaseResult> RunBidiPingPong(Echo::Stub& stub, int messages);

}  // namespace weft::floor
