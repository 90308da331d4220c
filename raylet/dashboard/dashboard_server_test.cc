// The dashboard's server alone (no head behind it): it serves at once, and stops at once
// however soon after its start it is stopped.

#include <gtest/gtest.h>
#include <httplib.h>

#include "raylet/dashboard/dashboard.h"

namespace weft::dashboard {
namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef";

DashboardOptions Options(const TokenAuth& auth, const HeadMetrics& metrics) {
  return {.host = "127.0.0.1",
          .port = 0,
          .head_address = "127.0.0.1:1",  // no head: only pages that ask none are used
          .token = kToken,
          .auth = &auth,
          .metrics = &metrics};
}

TEST(DashboardServerTest, StopsAtOnceEvenRightAfterItsStart) {
  const TokenAuth auth(kToken);
  const HeadMetrics metrics;
  for (int i = 0; i < 50; ++i) {
    auto dashboard = Dashboard::Start(Options(auth, metrics));
    ASSERT_TRUE(dashboard.ok()) << dashboard.status();
  }  // each destroyed as soon as started: the test hangs (and times out) if one does not stop
}

TEST(DashboardServerTest, ServesTheLoginPageAsSoonAsStarted) {
  const TokenAuth auth(kToken);
  const HeadMetrics metrics;
  auto dashboard = Dashboard::Start(Options(auth, metrics));
  ASSERT_TRUE(dashboard.ok()) << dashboard.status();
  EXPECT_EQ((*dashboard)->url(), "http://127.0.0.1:" + std::to_string((*dashboard)->port()) + "/");
  httplib::Client client("127.0.0.1", (*dashboard)->port());
  auto login = client.Get("/login");
  ASSERT_TRUE(login) << httplib::to_string(login.error());
  EXPECT_EQ(login->status, 200);
  // A head that does not answer is a 503 with the reason, not a hang or a crash.
  auto nodes = client.Get("/api/nodes", {{"Authorization", "Bearer " + kToken}});
  ASSERT_TRUE(nodes);
  EXPECT_EQ(nodes->status, 503) << nodes->body;
  EXPECT_NE(nodes->body.find("cannot reach the head"), std::string::npos) << nodes->body;
}

TEST(DashboardServerTest, ATakenPortIsAnErrorNamingIt) {
  const TokenAuth auth(kToken);
  const HeadMetrics metrics;
  auto first = Dashboard::Start(Options(auth, metrics));
  ASSERT_TRUE(first.ok()) << first.status();
  DashboardOptions same = Options(auth, metrics);
  same.port = (*first)->port();
  auto second = Dashboard::Start(same);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string(same.port)), std::string::npos);
}

}  // namespace
}  // namespace weft::dashboard
