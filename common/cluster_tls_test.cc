#include "common/cluster_tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/net_address.h"

namespace weft {
namespace {

using ::testing::Contains;
using ::testing::Not;

std::string HostName() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// Whatever a peer on this machine dials a raylet at is certified: loopback in both families,
// localhost and the machine's name.
void ExpectLocalNames(const std::vector<std::string>& hosts) {
  EXPECT_THAT(hosts, Contains("127.0.0.1"));
  EXPECT_THAT(hosts, Contains("::1"));
  EXPECT_THAT(hosts, Contains("localhost"));
  if (!HostName().empty()) {
    EXPECT_THAT(hosts, Contains(HostName()));
  }
}

TEST(HostsToCertifyTest, AServerOnOneAddressIsCertifiedThereAndOnThisMachine) {
  const auto hosts = HostsToCertify("10.1.2.3");
  EXPECT_THAT(hosts, Contains("10.1.2.3"));
  ExpectLocalNames(hosts);
}

// The advertised address first (a name, as a Kubernetes Service's), and the address bound to
// still: others dial the first, this machine the second.
TEST(HostsToCertifyTest, TheAdvertisedAddressComesFirstAndTheBoundOneStays) {
  const auto hosts = HostsToCertify("10.1.2.3", "weft-head");
  ASSERT_FALSE(hosts.empty());
  EXPECT_EQ(hosts.front(), "weft-head");
  EXPECT_THAT(hosts, Contains("10.1.2.3"));
  ExpectLocalNames(hosts);
}

// A wildcard may be dialed at any address of the machine, never at the wildcard itself.
TEST(HostsToCertifyTest, AWildcardIsCertifiedAtEveryAddressOfTheMachine) {
  for (const char* wildcard : {"0.0.0.0", "::", "[::]"}) {
    SCOPED_TRACE(wildcard);
    const auto hosts = HostsToCertify(wildcard);
    EXPECT_THAT(hosts, Contains(AdvertisedHost("0.0.0.0")));
    EXPECT_THAT(hosts, Not(Contains("0.0.0.0")));
    EXPECT_THAT(hosts, Not(Contains("::")));
    EXPECT_THAT(hosts, Not(Contains("[::]")));
    ExpectLocalNames(hosts);
  }
}

}  // namespace
}  // namespace weft
