#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace weft {

// The one place where absl::Status and grpc::Status meet: both use the canonical codes.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace weft
