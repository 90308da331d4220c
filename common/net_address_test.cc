#include "common/net_address.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

namespace weft {
namespace {

using ::testing::HasSubstr;

// This machine's first address of `family` beyond loopback (and beyond link-local for IPv6),
// if it has one.
std::optional<std::string> InterfaceAddress(int family) {
  ifaddrs* interfaces = nullptr;
  if (getifaddrs(&interfaces) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (const ifaddrs* i = interfaces; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != family || (i->ifa_flags & IFF_LOOPBACK)) {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text,
                sizeof(text));
    } else {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr)) continue;
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
    found = text;
  }
  freeifaddrs(interfaces);
  return found;
}

TEST(PeerIsLoopbackTest, LoopbackPeersOfEitherFamilyAndLocalSocketsAre) {
  EXPECT_TRUE(PeerIsLoopback("ipv4:127.0.0.1:5000"));
  EXPECT_TRUE(PeerIsLoopback("ipv4:127.3.2.1:5000"));
  EXPECT_TRUE(PeerIsLoopback("ipv6:[::1]:5000"));
  EXPECT_TRUE(PeerIsLoopback("ipv6:%5B::1%5D:5000"));           // as gRPC escapes it
  EXPECT_TRUE(PeerIsLoopback("ipv6:[::ffff:127.0.0.1]:5000"));  // IPv4 on a dual-stack socket
  EXPECT_TRUE(PeerIsLoopback("unix:/tmp/weft.sock"));
}

TEST(PeerIsLoopbackTest, PeersBeyondThisMachineAreNot) {
  EXPECT_FALSE(PeerIsLoopback("ipv4:10.0.0.2:5000"));
  EXPECT_FALSE(PeerIsLoopback("ipv6:[fd00::2]:5000"));
  EXPECT_FALSE(PeerIsLoopback("ipv6:%5Bfd00::2%5D:5000"));
  EXPECT_FALSE(PeerIsLoopback("ipv6:[::ffff:10.0.0.2]:5000"));
  EXPECT_FALSE(PeerIsLoopback("ipv4:128.0.0.1:5000"));
}

TEST(LocalHostTowardTest, AHeadOnLoopbackIsReachedFromLoopback) {
  EXPECT_EQ(LocalHostToward("127.0.0.1:7070").value_or("error"), "127.0.0.1");
  EXPECT_EQ(LocalHostToward("localhost:7070").value_or("error"), "127.0.0.1");
  EXPECT_EQ(LocalHostToward("[::1]:7070").value_or("error"), "::1");
}

// The kernel's route, not the spelling: an IPv6 head (here the loopback written out in full, so
// that no shortcut answers) is reached from an IPv6 address.
TEST(LocalHostTowardTest, TheRouteIsFoundForIPv6) {
  const int probe = socket(AF_INET6, SOCK_DGRAM, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6 on this machine";
  close(probe);
  EXPECT_EQ(LocalHostToward("[0:0:0:0:0:0:0:1]:7070").value_or("error"), "::1");
  if (const auto own = InterfaceAddress(AF_INET6)) {
    EXPECT_EQ(LocalHostToward("[" + *own + "]:7070").value_or("error"), *own);
  }
}

TEST(LocalHostTowardTest, AnAddressOfThisMachineIsReachedFromItself) {
  const auto own = InterfaceAddress(AF_INET);
  if (!own) GTEST_SKIP() << "no IPv4 address beyond loopback";
  EXPECT_EQ(LocalHostToward(*own + ":7070").value_or("error"), *own);
}

TEST(LocalHostTowardTest, AnAddressWithoutHostOrPortIsInvalid) {
  for (const char* address : {"", "10.0.0.1", ":7070", "10.0.0.1:", "[::1", "[::1]", "fd00::1"}) {
    SCOPED_TRACE(address);
    EXPECT_EQ(LocalHostToward(address).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// No route, or no such name: an error naming the address, never loopback.
TEST(LocalHostTowardTest, AnAddressNoRouteLeadsToIsAnError) {
  const auto broadcast = LocalHostToward("255.255.255.255:7070");
  EXPECT_EQ(broadcast.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(broadcast.status().message(), HasSubstr("255.255.255.255:7070"));
  const auto unknown = LocalHostToward("no-such-head.invalid:7070");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(unknown.status().message(), HasSubstr("no-such-head.invalid"));
}

TEST(IsWildcardTest, EveryInterfaceIsAWildcardInEitherFamily) {
  for (const char* host : {"0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"}) {
    EXPECT_TRUE(IsWildcard(host)) << host;
  }
  for (const char* host : {"", "127.0.0.1", "::1", "10.0.0.5", "weft-head", "0.0.0.1"}) {
    EXPECT_FALSE(IsWildcard(host)) << host;
  }
}

// Kubernetes names a Service by DNS (`--advertise-address weft-head`): names stay valid.
TEST(CheckAdvertisableHostTest, NamesAndAddressesOfEitherFamilyAreHosts) {
  for (const char* host : {"weft-head", "weft-head.weft.svc.cluster.local", "node_1.example.",
                           "10.0.0.5", "fd00::5", "::ffff:10.0.0.5", "localhost"}) {
    EXPECT_TRUE(CheckAdvertisableHost(host).ok()) << host << ": " << CheckAdvertisableHost(host);
  }
}

TEST(CheckAdvertisableHostTest, WhatIsNoHostIsRefusedSayingWhy) {
  const std::pair<const char*, const char*> refused[] = {{"", "is empty"},
                                                         {"[fd00::5]", "has brackets"},
                                                         {"[fd00::5]:7070", "has brackets"},
                                                         {"10.0.0.5:7070", "has a port"},
                                                         {"weft-head:7070", "has a port"},
                                                         {"0.0.0.0", "is a wildcard"},
                                                         {"::", "is a wildcard"},
                                                         {"fd00::5::1", "is no IPv6 address"},
                                                         {"weft head", "is no DNS name"},
                                                         {"weft..head", "is no DNS name"},
                                                         {".weft", "is no DNS name"}};
  for (const auto& [host, why] : refused) {
    const absl::Status checked = CheckAdvertisableHost(host);
    EXPECT_EQ(checked.code(), absl::StatusCode::kInvalidArgument) << host;
    EXPECT_THAT(checked.message(), HasSubstr(why)) << host;
  }
}

TEST(BeyondLoopbackTest, ListeningOrBeingReachedBeyondLoopbackIs) {
  EXPECT_FALSE(BeyondLoopback("127.0.0.1", "127.0.0.1:7070"));
  EXPECT_FALSE(BeyondLoopback("::1", "localhost"));
  EXPECT_TRUE(BeyondLoopback("0.0.0.0", "127.0.0.1:7070"));  // every interface listens
  EXPECT_TRUE(BeyondLoopback("::", "[::1]:7070"));
  EXPECT_TRUE(BeyondLoopback("127.0.0.1", "weft-head"));
  EXPECT_TRUE(BeyondLoopback("10.0.0.5", "10.0.0.5:7070"));
}

// This machine reaches its own servers where they listen: loopback for a wildcard, never an
// advertised address (behind NAT a machine may not reach itself there).
TEST(LocalDialHostTest, AServerIsDialedWhereItListensAndAWildcardOnLoopback) {
  EXPECT_EQ(LocalDialHost("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(LocalDialHost("10.0.0.5"), "10.0.0.5");
  EXPECT_EQ(LocalDialHost("fd00::5"), "fd00::5");
  EXPECT_EQ(LocalDialHost("0.0.0.0"), "127.0.0.1");
  EXPECT_EQ(LocalDialHost("::"), "::1");
  EXPECT_EQ(LocalDialHost("[::]"), "::1");
  EXPECT_EQ(LocalDialHost(""), "127.0.0.1");
}

}  // namespace
}  // namespace weft
