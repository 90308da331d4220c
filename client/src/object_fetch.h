#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "worker.grpc.pb.h"

namespace weft::internal {

// Streams object `id` from the worker behind `stub` (FetchObject) without blocking; `done`
// runs on a gRPC thread with the whole value or the failure.
void FetchObject(proto::Worker::Stub& stub, const std::string& id,
                 std::function<void(absl::StatusOr<std::string>)> done);

}  // namespace weft::internal
