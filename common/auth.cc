#include "common/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/session_dir.h"

namespace weft {

std::string GenerateToken() { return RandomHex(32); }

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
  return token;
}

bool TokenAuth::Allows(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(kTokenMetadataKey);
  if (it == metadata.end() || it->second.size() != token_.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token_.size(); ++i) diff |= it->second.data()[i] ^ token_[i];
  return diff == 0;
}

grpc::ServerUnaryReactor* TokenAuth::Reject(grpc::CallbackServerContext* context) const {
  if (Allows(*context)) return nullptr;
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                               "missing or wrong cluster token (x-weft-token)"));
  return reactor;
}

}  // namespace weft
