#include "raylet/dashboard/dashboard_auth.h"

#include <gtest/gtest.h>

namespace weft::dashboard {
namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef";
const std::string kOther = "fedcba9876543210fedcba9876543210";

TEST(DashboardAuthTest, BearerTokenIsAccepted) {
  EXPECT_TRUE(Authorized("Bearer " + kToken, "", {kToken}));
  EXPECT_TRUE(Authorized("bearer " + kToken, "", {kToken}));
  EXPECT_FALSE(Authorized("Bearer " + kOther, "", {kToken}));
  EXPECT_FALSE(Authorized("Basic " + kToken, "", {kToken}));
  EXPECT_FALSE(Authorized("Bearer ", "", {kToken}));
  EXPECT_FALSE(Authorized("", "", {kToken}));
}

TEST(DashboardAuthTest, SessionCookieOfAnAcceptedTokenIsAccepted) {
  const std::string cookie = std::string(kSessionCookie) + "=" + SessionCookieValue(kToken);
  EXPECT_TRUE(Authorized("", cookie, {kToken}));
  EXPECT_TRUE(Authorized("", "theme=dark; " + cookie + "; other=1", {kToken}));
  // During a rotation both tokens are accepted; once the old one is refused its sessions end.
  EXPECT_TRUE(Authorized("", cookie, {kOther, kToken}));
  EXPECT_FALSE(Authorized("", cookie, {kOther}));
}

TEST(DashboardAuthTest, CookieHoldsNoTokenAndCannotBeForged) {
  const std::string value = SessionCookieValue(kToken);
  EXPECT_EQ(value.size(), 64u);
  EXPECT_EQ(value.find(kToken), std::string::npos);
  EXPECT_NE(value, SessionCookieValue(kOther));
  // The token itself in the cookie opens nothing.
  EXPECT_FALSE(Authorized("", std::string(kSessionCookie) + "=" + kToken, {kToken}));
  EXPECT_FALSE(Authorized("", std::string(kSessionCookie) + "=", {kToken}));
  EXPECT_FALSE(Authorized("", "x" + std::string(kSessionCookie) + "=" + value, {kToken}));
}

TEST(DashboardAuthTest, LoginCookieIsHttpOnlyAndStrict) {
  const std::string cookie = LoginCookie(kToken, /*https=*/false);
  EXPECT_NE(cookie.find(SessionCookieValue(kToken)), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  EXPECT_NE(LoginCookie(kToken, /*https=*/true).find("; Secure"), std::string::npos);
  EXPECT_NE(LogoutCookie(false).find("Max-Age=0"), std::string::npos);
}

TEST(DashboardAuthTest, TypedTokenMustMatchExactly) {
  EXPECT_TRUE(TokenAccepted(kToken, {kToken}));
  EXPECT_FALSE(TokenAccepted(kToken.substr(1), {kToken}));
  EXPECT_FALSE(TokenAccepted("", {kToken}));
  EXPECT_FALSE(TokenAccepted("", {""}));
}

}  // namespace
}  // namespace weft::dashboard
