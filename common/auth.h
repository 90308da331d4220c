#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace weft {

// gRPC metadata key that carries the cluster token on every call.
inline constexpr char kTokenMetadataKey[] = "x-weft-token";

// A new random cluster token (32 bytes of randomness, hex).
std::string GenerateToken();

// The token's SHA-256 in hex: what a cluster's store keeps to tell a head started with another
// token from the cluster's own, not enough to recover it.
std::string TokenFingerprint(const std::string& token);

// OK when `token` can be a cluster token: 16 to 256 printable ASCII characters, no spaces (it
// travels as gRPC metadata, which takes nothing else; GenerateToken makes 64 hex digits).
// INVALID_ARGUMENT naming `source` otherwise.
[[nodiscard]] absl::Status CheckToken(const std::string& token, const std::string& source);

// Writes `token` to `path` with mode 0600, replacing any previous file.
[[nodiscard]] absl::Status WriteTokenFile(const std::string& path, const std::string& token);

// Reads a token file; NOT_FOUND if it is missing, INVALID_ARGUMENT if it is empty.
[[nodiscard]] absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Rotation of the cluster token (weft token rotate): a process told that `to` replaces the token
// `from` accepts both at once, sends `to` from `send_at` and refuses `from` from
// `refuse_old_at`. Process-wide, as the transport security is: every TokenAuth and every
// channel (MakeChannel) of `from`, or of a token rotated to `from`, follows it.
struct TokenRotation {
  std::string to;
  absl::Time send_at;
  absl::Time refuse_old_at;
};
// True when it changed what the process knew (a new rotation, or earlier times for a known
// one: the earliest word stands); ALREADY_EXISTS when `from` was rotated to another token (only
// the head makes tokens: a second rotation from one token is not its).
[[nodiscard]] absl::StatusOr<bool> AdoptTokenRotation(const std::string& from,
                                                      TokenRotation rotation);
// True while a process configured with `token` sends a token that a rotation it knows replaces.
bool NewerTokenKnown(const std::string& token);
// Sends the newest tokens now (a head that refuses the old one: it was started again during a
// rotation's grace, and knows only the new one).
void SendNewestTokensNow();

// What a process configured with `token` sends now, after the rotations it adopted.
std::string SendableToken(const std::string& token);

// What a process configured with `token` holds now: the newest token whose rotation is
// over, and the rotation from it still under way, if any (what a child process is told).
struct TokenState {
  std::string token;
  std::optional<TokenRotation> rotation;
};
TokenState TokenStateOf(const std::string& token);

// A rotation under way in the environment of a process a node started ($WEFT_TOKEN_ROTATION,
// from TokenStateOf), and read back (adopted from `token`). Times in Unix milliseconds: the
// process runs on the node's machine.
std::string TokenRotationEnv(const TokenRotation& rotation);
[[nodiscard]] absl::Status AdoptTokenRotationEnv(const std::string& token, const std::string& env);

// Server side: checks the cluster token of incoming calls, following the process's rotations
// (see AdoptTokenRotation). Thread-safe.
class TokenAuth {
 public:
  explicit TokenAuth(std::string token) : token_(std::move(token)) {}

  // True when the call carries the cluster token, or the token it replaces while that is still
  // accepted (constant-time compares).
  bool Allows(const grpc::ServerContextBase& context) const;
  // The token the call carries, when Allows it; empty otherwise.
  std::string Presented(const grpc::ServerContextBase& context) const;
  // Every token accepted now, newest first.
  std::vector<std::string> Accepted() const;

  // For callback handlers: returns a reactor already finished with UNAUTHENTICATED when the
  // call lacks the token, nullptr when the call may proceed.
  grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* context) const;

 private:
  const std::string token_;
};

}  // namespace weft
