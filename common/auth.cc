#include "common/auth.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"

namespace weft {

std::string GenerateToken() { return RandomHex(32); }

absl::Status WriteTokenFile(const std::string& path, const std::string& token) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  const mode_t old_mask = umask(077);
  std::ofstream out(tmp, std::ios::trunc);
  umask(old_mask);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write token file ", tmp));
  out << token << "\n";
  out.close();
  if (chmod(tmp.c_str(), 0600) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot install token file ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("token file ", path, " not found"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(buffer.str()));
  if (token.empty())
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
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
