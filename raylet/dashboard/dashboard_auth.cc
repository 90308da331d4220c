#include "raylet/dashboard/dashboard_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weft::dashboard {
namespace {

bool SameBytes(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
absl::string_view CookieValue(absl::string_view header, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(header, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    if (absl::StartsWith(pair, name) && pair.size() > name.size() && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
  }
  return {};
}

}  // namespace

std::string SessionCookieValue(const std::string& token) {
  static constexpr absl::string_view kPurpose = "weft dashboard session";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(kPurpose.data()), kPurpose.size(), mac, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), length));
}

std::string LoginCookie(const std::string& token, bool https) {
  return absl::StrCat(kSessionCookie, "=", SessionCookieValue(token),
                      "; Path=/; HttpOnly; SameSite=Strict", https ? "; Secure" : "");
}

std::string LogoutCookie(bool https) {
  return absl::StrCat(kSessionCookie, "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
                      https ? "; Secure" : "");
}

bool TokenAccepted(absl::string_view presented, const std::vector<std::string>& accepted) {
  bool found = false;
  for (const auto& token : accepted) found |= SameBytes(presented, token);
  return found && !presented.empty();
}

bool Authorized(absl::string_view authorization_header, absl::string_view cookie_header,
                const std::vector<std::string>& accepted) {
  static constexpr absl::string_view kBearer = "Bearer ";
  if (absl::StartsWithIgnoreCase(authorization_header, kBearer) &&
      TokenAccepted(absl::StripAsciiWhitespace(authorization_header.substr(kBearer.size())),
                    accepted)) {
    return true;
  }
  const absl::string_view session = CookieValue(cookie_header, kSessionCookie);
  if (session.empty()) return false;
  bool found = false;
  for (const auto& token : accepted) found |= SameBytes(session, SessionCookieValue(token));
  return found;
}

}  // namespace weft::dashboard
