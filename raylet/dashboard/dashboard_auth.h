#pragma once

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

namespace weft::dashboard {

// Who may read the dashboard: whoever shows the cluster token, as `Authorization: Bearer
// <token>` (Prometheus, curl), or as the session cookie the login page sets. The cookie holds
// an HMAC of the token, not the token: it opens this cluster's dashboard and nothing else, and
// a rotated token ends every session of the old one once the old one is refused.

inline constexpr char kSessionCookie[] = "weft_dashboard";

// The session cookie's value for `token`: HMAC-SHA256(token, "weft dashboard session"), hex.
std::string SessionCookieValue(const std::string& token);

// The Set-Cookie header value that opens a session for `token` (HttpOnly, SameSite=Strict, and
// Secure when served over HTTPS), and the one that ends it.
std::string LoginCookie(const std::string& token, bool https);
std::string LogoutCookie(bool https);

// Whether a request with these headers (empty when absent) shows one of the `accepted`
// tokens, directly or through its session cookie. Constant-time compares.
bool Authorized(absl::string_view authorization_header, absl::string_view cookie_header,
                const std::vector<std::string>& accepted);

// Whether `presented` (typed into the login form) is one of the `accepted` tokens.
bool TokenAccepted(absl::string_view presented, const std::vector<std::string>& accepted);

}  // namespace weft::dashboard
