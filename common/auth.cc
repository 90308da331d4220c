#include "common/auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/ids.h"
#include "common/session_dir.h"

namespace weft {

std::string GenerateToken() { return RandomHex(32); }

std::string TokenFingerprint(const std::string& token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    absl::StrAppend(&hex, absl::Hex(digest[i], absl::kZeroPad2));
  }
  return hex;
}

absl::Status CheckToken(const std::string& token, const std::string& source) {
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (token.size() < 16 || token.size() > 256 || !printable) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     " is not a cluster token: 16 to 256 printable ASCII characters "
                     "without spaces (weft start --head makes one)"));
  }
  return absl::OkStatus();
}

absl::Status WriteTokenFile(const std::string& path, const std::string& token) {
  return WriteFileAtomic(path, token + "\n", 0600);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  auto contents = ReadFile(path);
  if (!contents.ok()) return absl::NotFoundError(absl::StrCat("token file ", path, " not found"));
  std::string token(absl::StripAsciiWhitespace(*contents));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  }
  if (auto valid = CheckToken(token, absl::StrCat("token file ", path)); !valid.ok()) return valid;
  return token;
}

namespace {

// The rotations this process adopted, by the token each replaces. A process rotates once in a
// while: a chain of a few links, walked under a lock only once there is one.
struct Rotations {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, TokenRotation> from ABSL_GUARDED_BY(mu);
  std::atomic<bool> any{false};
};

Rotations& AllRotations() {
  static auto* rotations = new Rotations();  // never destroyed: used until exit
  return *rotations;
}

bool SameToken(grpc::string_ref presented, const std::string& token) {
  if (presented.size() != token.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) diff |= presented.data()[i] ^ token[i];
  return diff == 0;
}

// Calls `visit(token, rotation or nullptr)` along the chain from `token`, while it returns true.
template <typename Visit>
void WalkRotations(const std::string& token, Visit visit) {
  Rotations& rotations = AllRotations();
  if (!rotations.any.load(std::memory_order_acquire)) {
    visit(token, nullptr);
    return;
  }
  absl::ReaderMutexLock lock(&rotations.mu);  // on every call once the process rotated
  std::string at = token;
  for (size_t links = 0; links <= rotations.from.size(); ++links) {  // bounded: no cycles
    const auto it = rotations.from.find(at);
    const TokenRotation* rotation = it == rotations.from.end() ? nullptr : &it->second;
    if (!visit(at, rotation) || !rotation) return;
    at = rotation->to;
  }
}

}  // namespace

absl::StatusOr<bool> AdoptTokenRotation(const std::string& from, TokenRotation rotation) {
  if (auto valid = CheckToken(rotation.to, "a rotated token"); !valid.ok()) return valid;
  if (from == rotation.to) return absl::InvalidArgumentError("a token cannot replace itself");
  Rotations& rotations = AllRotations();
  absl::MutexLock lock(&rotations.mu);
  // A token replaced once never comes back: a chain with a loop has no newest token.
  if (rotations.from.contains(rotation.to)) {
    return absl::InvalidArgumentError("a rotated token must be new");
  }
  auto [it, added] = rotations.from.try_emplace(from, rotation);
  rotations.any.store(true, std::memory_order_release);
  if (added) return true;
  TokenRotation& known = it->second;
  if (known.to != rotation.to) {
    return absl::AlreadyExistsError("that token was rotated to another one already");
  }
  const bool earlier =
      rotation.send_at < known.send_at || rotation.refuse_old_at < known.refuse_old_at;
  known.send_at = std::min(known.send_at, rotation.send_at);
  known.refuse_old_at = std::min(known.refuse_old_at, rotation.refuse_old_at);
  return earlier;
}

void SendNewestTokensNow() {
  Rotations& rotations = AllRotations();
  absl::MutexLock lock(&rotations.mu);
  const absl::Time now = absl::Now();
  for (auto& [from, rotation] : rotations.from) rotation.send_at = std::min(rotation.send_at, now);
}

std::string SendableToken(const std::string& token) {
  std::string sendable;
  const absl::Time now = absl::Now();
  WalkRotations(token, [&](const std::string& at, const TokenRotation* rotation) {
    sendable = at;
    return rotation && now >= rotation->send_at;
  });
  return sendable;
}

bool NewerTokenKnown(const std::string& token) {
  return TokenStateOf(SendableToken(token)).rotation.has_value();
}

TokenState TokenStateOf(const std::string& token) {
  TokenState state;
  const absl::Time now = absl::Now();
  WalkRotations(token, [&](const std::string& at, const TokenRotation* rotation) {
    state.token = at;
    if (rotation && now < rotation->refuse_old_at) state.rotation = *rotation;
    return rotation && now >= rotation->refuse_old_at;
  });
  return state;
}

std::string TokenRotationEnv(const TokenRotation& rotation) {
  return absl::StrCat(rotation.to, " ", absl::ToUnixMillis(rotation.send_at), " ",
                      absl::ToUnixMillis(rotation.refuse_old_at));
}

absl::Status AdoptTokenRotationEnv(const std::string& token, const std::string& env) {
  const std::vector<std::string> parts = absl::StrSplit(env, ' ');
  int64_t send_at_ms = 0, refuse_at_ms = 0;
  if (parts.size() != 3 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &send_at_ms) ||
      !absl::SimpleAtoi(parts[2], &refuse_at_ms)) {
    return absl::InvalidArgumentError("$WEFT_TOKEN_ROTATION is not '<token> <ms> <ms>'");
  }
  return AdoptTokenRotation(token, {.to = parts[0],
                                    .send_at = absl::FromUnixMillis(send_at_ms),
                                    .refuse_old_at = absl::FromUnixMillis(refuse_at_ms)})
      .status();
}

std::string TokenAuth::Presented(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(kTokenMetadataKey);
  if (it == metadata.end()) return "";
  std::string accepted;
  const absl::Time now = absl::Now();
  WalkRotations(token_, [&](const std::string& at, const TokenRotation* rotation) {
    // The newest token always; one it replaced until the rotation's grace is over.
    const bool valid = !rotation || now < rotation->refuse_old_at;
    if (valid && SameToken(it->second, at)) accepted = at;
    return true;
  });
  return accepted;
}

bool TokenAuth::Allows(const grpc::ServerContextBase& context) const {
  if (AllRotations().any.load(std::memory_order_acquire)) return !Presented(context).empty();
  // Every call's check, in a process that never rotated: no clock, no copy.
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(kTokenMetadataKey);
  return it != metadata.end() && SameToken(it->second, token_);
}

std::vector<std::string> TokenAuth::Accepted() const {
  std::vector<std::string> accepted;
  const absl::Time now = absl::Now();
  WalkRotations(token_, [&](const std::string& at, const TokenRotation* rotation) {
    if (!rotation || now < rotation->refuse_old_at) accepted.insert(accepted.begin(), at);
    return true;
  });
  return accepted;
}

grpc::ServerUnaryReactor* TokenAuth::Reject(grpc::CallbackServerContext* context) const {
  if (Allows(*context)) return nullptr;
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                               "missing or wrong cluster token (x-weft-token)"));
  return reactor;
}

}  // namespace weft
