#include "common/rpc.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

// A process's calls to its own advertised address stay on the machine (issue 14); every other
// address is dialed as given, and a new route replaces the last.
TEST(LocalRouteTest, OnlyTheProcesssOwnAdvertisedAddressIsDialedLocally) {
  SetLocalRoute("weft-head:7070", "127.0.0.1:7070");
  EXPECT_EQ(RouteOf("weft-head:7070"), "127.0.0.1:7070");
  EXPECT_EQ(RouteOf("weft-head:7071"), "weft-head:7071");
  EXPECT_EQ(RouteOf("10.0.0.5:7070"), "10.0.0.5:7070");
  SetLocalRoute("203.0.113.5:7070", "10.0.0.5:7070");
  EXPECT_EQ(RouteOf("203.0.113.5:7070"), "10.0.0.5:7070");
  EXPECT_EQ(RouteOf("weft-head:7070"), "weft-head:7070");
  SetLocalRoute("", "");
  EXPECT_EQ(RouteOf("203.0.113.5:7070"), "203.0.113.5:7070");
  EXPECT_EQ(RouteOf(""), "");
}

}  // namespace
}  // namespace weft
