#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/in_flight.h"
#include "weft/bytes.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

// Streams object `id` from the worker behind `stub` (FetchObject) without blocking; `done`
// runs on a gRPC thread with the whole value or the failure.
// The fetch is registered with `in_flight` while it runs.
void FetchObject(proto::Worker::Stub& stub, const std::string& id, InFlight& in_flight,
                 std::function<void(absl::StatusOr<Bytes>)> done);

}  // namespace weft::internal
