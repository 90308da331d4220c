#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "client/src/shared_bytes.h"
#include "common/in_flight.h"
#include "weft/bytes.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

// Streams object `id` from the worker behind `stub` (FetchObject) without blocking; `done`
// runs on a gRPC thread with the whole value or the failure.
// The fetch is registered with `in_flight` while it runs. With `keep`, a value over
// kInlineValueBytes is written into that folder as it arrives (SharedFolder::BeginCopy), for
// the node's other processes, and mapped from there: a value from another machine.
void FetchObject(proto::Worker::Stub& stub, const std::string& id, InFlight& in_flight,
                 SharedFolder* keep, std::function<void(absl::StatusOr<Bytes>)> done);

}  // namespace weft::internal
