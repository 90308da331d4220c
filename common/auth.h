#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <string>

#include "absl/status/statusor.h"

namespace weft {

// gRPC metadata key that carries the cluster token on every call.
inline constexpr char kTokenMetadataKey[] = "x-weft-token";

// A new random cluster token (32 bytes of randomness, hex).
std::string GenerateToken();

// Writes `token` to `path` with mode 0600, replacing any previous file.
[[nodiscard]] absl::Status WriteTokenFile(const std::string& path, const std::string& token);

// Reads a token file; NOT_FOUND if it is missing, INVALID_ARGUMENT if it is empty.
[[nodiscard]] absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Server side: checks the cluster token of incoming calls. Thread-safe, immutable.
class TokenAuth {
 public:
  explicit TokenAuth(std::string token) : token_(std::move(token)) {}

  // True when the call carries exactly the cluster token (constant-time compare).
  bool Allows(const grpc::ServerContextBase& context) const;

  // For callback handlers: returns a reactor already finished with UNAUTHENTICATED when the
  // call lacks the token, nullptr when the call may proceed.
  grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* context) const;

 private:
  const std::string token_;
};

}  // namespace weft
