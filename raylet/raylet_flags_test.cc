// How weft-raylet's flags settle into its options (issue 14): where it listens, where others
// reach it, and whether it needs TLS. A stand-in finds the route toward a head, so that
// nothing here depends on this machine's network.

#include "raylet/raylet_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/auth.h"

namespace weft {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class RayletFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("weft-flags-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(WriteTokenFile((dir_ / "token").string(), GenerateToken()).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The flags of a command line (each test's own session and token file), parsed.
  RayletFlags Parse(std::vector<std::string> args) {
    args.insert(args.end(),
                {"--session-dir", Session(), "--token-file", (dir_ / "token").string()});
    CLI::App app;
    RayletFlags flags;
    AddRayletFlags(app, flags);
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
    app.parse(reversed);
    return flags;
  }
  std::string Session() { return (dir_ / ("session-" + std::to_string(sessions_))).string(); }

  // A route toward any head from `host`, counting the times it was asked.
  RouteToward RouteFrom(std::string host) {
    return [this, host](const std::string& head) -> absl::StatusOr<std::string> {
      ++routes_asked_;
      asked_toward_ = head;
      return host;
    };
  }
  // No route toward any head.
  RouteToward NoRoute() {
    return [this](const std::string& head) -> absl::StatusOr<std::string> {
      ++routes_asked_;
      return absl::UnavailableError("no route from this machine to " + head + ": unreachable");
    };
  }
  // A head takes its session's lock for the process's life: each head gets a session of its own.
  absl::StatusOr<RayletOptions> Settle(const std::vector<std::string>& args,
                                       const RouteToward& toward) {
    ++sessions_;
    return MakeRayletOptions(Parse(args), toward);
  }

  std::filesystem::path dir_;
  int sessions_ = 0;
  int routes_asked_ = 0;
  std::string asked_toward_;
};

TEST_F(RayletFlagsTest, AHeadListensAndIsReachedOnLoopbackByDefault) {
  const auto o = Settle({"--head"}, NoRoute());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->advertise_host, "127.0.0.1");
  EXPECT_FALSE(o->tls);
  EXPECT_EQ(routes_asked_, 0);
}

TEST_F(RayletFlagsTest, AHeadOnEveryInterfaceIsReachedAtItsFirstAndUsesTls) {
  const auto o = Settle({"--head", "--host", "0.0.0.0"}, NoRoute());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host, "0.0.0.0");
  EXPECT_EQ(o->advertise_host, AdvertisedHost("0.0.0.0"));
  EXPECT_TRUE(o->tls);
}

TEST_F(RayletFlagsTest, ANodeOfALoopbackHeadStaysOnLoopback) {
  const auto o = Settle({"--address", "127.0.0.1:7070"}, NoRoute());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->advertise_host, "127.0.0.1");
  EXPECT_FALSE(o->tls);
  EXPECT_EQ(routes_asked_, 0);
}

TEST_F(RayletFlagsTest, ANodeWithoutHostListensAndIsReachedTowardItsHead) {
  const auto o = Settle({"--address", "10.9.8.7:7070"}, RouteFrom("10.1.1.5"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(asked_toward_, "10.9.8.7:7070");
  EXPECT_EQ(o->host, "10.1.1.5");
  EXPECT_EQ(o->advertise_host, "10.1.1.5");
  EXPECT_TRUE(o->tls);
}

TEST_F(RayletFlagsTest, ANodeOnEveryInterfaceIsReachedTowardItsHead) {
  const auto o = Settle({"--address", "[fd00::7]:7070", "--host", "::"}, RouteFrom("fd00::5"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host, "::");
  EXPECT_EQ(o->advertise_host, "fd00::5");
}

TEST_F(RayletFlagsTest, WhatTheFlagsNameIsTakenAsGiven) {
  const auto host = Settle({"--address", "10.9.8.7:7070", "--host", "10.1.1.9"}, NoRoute());
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->host, "10.1.1.9");
  EXPECT_EQ(host->advertise_host, "10.1.1.9");
  const auto advertised = Settle(
      {"--address", "10.9.8.7:7070", "--host", "0.0.0.0", "--advertise-address", "weft-node"},
      NoRoute());
  ASSERT_TRUE(advertised.ok()) << advertised.status();
  EXPECT_EQ(advertised->host, "0.0.0.0");
  EXPECT_EQ(advertised->advertise_host, "weft-node");
  EXPECT_EQ(routes_asked_, 0);
}

// Never loopback in its place: the head would refuse it, or take a node nobody reaches.
TEST_F(RayletFlagsTest, ANodeThatFindsNoRouteTowardItsHeadDoesNotStart) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--address", "10.9.8.7:7070"},
        std::vector<std::string>{"--address", "10.9.8.7:7070", "--host", "0.0.0.0"}}) {
    const auto o = Settle(args, NoRoute());
    ASSERT_FALSE(o.ok());
    EXPECT_THAT(o.status().message(),
                AllOf(HasSubstr("the head at 10.9.8.7:7070"), HasSubstr("unreachable"),
                      HasSubstr("--host"), HasSubstr("--advertise-address")));
  }
}

// A usage error before anything starts (exit 2 in main); DNS names, as a Kubernetes
// Service's, and IPv6 literals are hosts.
TEST_F(RayletFlagsTest, AnAdvertiseAddressMustBeAHost) {
  for (const char* host : {"", "[fd00::5]", "10.0.0.5:7070", "0.0.0.0", "::"}) {
    SCOPED_TRACE(host);
    EXPECT_THROW(Parse({"--head", "--advertise-address", host}), CLI::ValidationError);
  }
  for (const char* host : {"weft-head", "fd00::5"}) {
    const auto o = Settle({"--head", "--host", "0.0.0.0", "--advertise-address", host}, NoRoute());
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->advertise_host, host);
  }
}

// The systemd units give the advertised address in the environment, where an empty value means
// the default (a flag would make it a usage error); a flag given wins.
TEST_F(RayletFlagsTest, TheAdvertisedAddressMayComeFromTheEnvironment) {
  const auto settle_with = [&](const char* env, std::vector<std::string> args) {
    setenv("WEFT_ADVERTISE_ADDRESS", env, 1);
    auto o = Settle(std::move(args), NoRoute());
    unsetenv("WEFT_ADVERTISE_ADDRESS");
    return o;
  };
  const auto named = settle_with("weft-head", {"--head", "--host", "0.0.0.0"});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->advertise_host, "weft-head");
  const auto empty = settle_with("", {"--head"});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->advertise_host, "127.0.0.1");
  const auto flag = settle_with("weft-head", {"--head", "--advertise-address", "10.0.0.5"});
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->advertise_host, "10.0.0.5");
  setenv("WEFT_ADVERTISE_ADDRESS", "10.0.0.5:7070", 1);
  EXPECT_THROW(Parse({"--head"}), CLI::ValidationError);
  unsetenv("WEFT_ADVERTISE_ADDRESS");
}

// TLS by default, and the --insecure warning, go by where the raylet listens and where it is
// reached: beyond loopback if either is.
TEST_F(RayletFlagsTest, ListeningOrBeingReachedBeyondLoopbackIsBeyondLoopback) {
  const auto everywhere =
      Settle({"--head", "--host", "0.0.0.0", "--advertise-address", "127.0.0.1"}, NoRoute());
  ASSERT_TRUE(everywhere.ok()) << everywhere.status();
  EXPECT_TRUE(everywhere->tls);
  const auto named =
      Settle({"--head", "--host", "127.0.0.1", "--advertise-address", "weft-head"}, NoRoute());
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_TRUE(named->tls);
  const auto local =
      Settle({"--head", "--host", "127.0.0.1", "--advertise-address", "localhost"}, NoRoute());
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_FALSE(local->tls);
}

// A fenced node rejoining works out again what it took from the route toward its head (issue
// 14): the route may have changed while it was cut off. What the flags named stays.
TEST_F(RayletFlagsTest, ARejoiningNodeFollowsTheRouteTowardItsHeadWhereNoFlagNamedItsAddress) {
  auto bare = Settle({"--address", "10.9.8.7:7070"}, RouteFrom("10.1.1.5"));
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(FollowRouteTowardHead(*bare, RouteFrom("10.1.1.5")).value_or(true), false);
  EXPECT_EQ(FollowRouteTowardHead(*bare, RouteFrom("10.2.2.5")).value_or(false), true);
  EXPECT_EQ(bare->host, "10.2.2.5");
  EXPECT_EQ(bare->advertise_host, "10.2.2.5");
  EXPECT_FALSE(FollowRouteTowardHead(*bare, NoRoute()).ok());

  auto wildcard =
      Settle({"--address", "10.9.8.7:7070", "--host", "0.0.0.0"}, RouteFrom("10.1.1.5"));
  ASSERT_TRUE(wildcard.ok()) << wildcard.status();
  EXPECT_EQ(FollowRouteTowardHead(*wildcard, RouteFrom("10.2.2.5")).value_or(false), true);
  EXPECT_EQ(wildcard->host, "0.0.0.0");
  EXPECT_EQ(wildcard->advertise_host, "10.2.2.5");

  auto advertised = Settle({"--address", "10.9.8.7:7070", "--advertise-address", "weft-node"},
                           RouteFrom("10.1.1.5"));
  ASSERT_TRUE(advertised.ok()) << advertised.status();
  EXPECT_EQ(FollowRouteTowardHead(*advertised, RouteFrom("10.2.2.5")).value_or(false), true);
  EXPECT_EQ(advertised->host, "10.2.2.5");
  EXPECT_EQ(advertised->advertise_host, "weft-node");

  routes_asked_ = 0;
  for (const std::vector<std::string>& named :
       {std::vector<std::string>{"--address", "10.9.8.7:7070", "--host", "10.1.1.9"},
        std::vector<std::string>{"--address", "10.9.8.7:7070", "--host", "0.0.0.0",
                                 "--advertise-address", "weft-node"},
        std::vector<std::string>{"--head"}}) {
    auto o = Settle(named, NoRoute());
    ASSERT_TRUE(o.ok()) << o.status();
    const RayletOptions before = *o;
    EXPECT_EQ(FollowRouteTowardHead(*o, NoRoute()).value_or(true), false);
    EXPECT_EQ(o->host, before.host);
    EXPECT_EQ(o->advertise_host, before.advertise_host);
  }
  EXPECT_EQ(routes_asked_, 0);
}

// The dashboard: 8265 unless asked otherwise, any free port when that one is taken; a port asked
// for is kept to (taken: no dashboard); --no-dashboard serves none.
TEST_F(RayletFlagsTest, TheDashboardTakes8265OrAFreePortUnlessAskedOtherwise) {
  auto defaults = Settle({"--head"}, NoRoute());
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->dashboard_port, 8265);
  EXPECT_TRUE(defaults->dashboard_port_fallback);

  auto asked = Settle({"--head", "--dashboard-port", "9000"}, NoRoute());
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_EQ(asked->dashboard_port, 9000);
  EXPECT_FALSE(asked->dashboard_port_fallback);

  auto any = Settle({"--head", "--dashboard-port", "0"}, NoRoute());
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->dashboard_port, 0);

  auto none = Settle({"--head", "--no-dashboard"}, NoRoute());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->dashboard_port, -1);

  EXPECT_THROW(Parse({"--head", "--no-dashboard", "--dashboard-port", "1"}), CLI::ExcludesError);
  EXPECT_THROW(Parse({"--head", "--dashboard-port", "70000"}), CLI::ValidationError);
}

}  // namespace
}  // namespace weft
