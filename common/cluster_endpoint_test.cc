#include "common/cluster_endpoint.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "common/auth.h"
#include "common/session_dir.h"

namespace weft {
namespace {

// A head's session records where this machine dials the head and where others reach it
// (issue 14): found through the session, the endpoint has both; told another address, only it.
class ClusterEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft_endpoint_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    session_ = std::make_unique<SessionDir>(tmpl);
    ASSERT_TRUE(session_->Create().ok());
    ASSERT_TRUE(WriteTokenFile(session_->TokenPath(), GenerateToken()).ok());
    ASSERT_TRUE(WriteFileAtomic(session_->HeadAddressPath(), "127.0.0.1:7070\n").ok());
  }
  void TearDown() override { std::filesystem::remove_all(session_->root()); }

  std::unique_ptr<SessionDir> session_;
};

TEST_F(ClusterEndpointTest, AHeadsSessionGivesWhereItIsDialedAndWhereOthersReachIt) {
  ASSERT_TRUE(
      WriteFileAtomic(session_->HeadAdvertisedAddressPath(), "weft-head.example:7070\n").ok());
  const auto found = ResolveClusterEndpoint("", session_->root());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->head_address, "127.0.0.1:7070");
  EXPECT_EQ(found->head_advertised_address, "weft-head.example:7070");
  EXPECT_EQ(ReachedHeadAt(*found), "weft-head.example:7070");
  const auto same = ResolveClusterEndpoint("127.0.0.1:7070", session_->root());
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(ReachedHeadAt(*same), "weft-head.example:7070");
  const auto other = ResolveClusterEndpoint("10.0.0.9:7070", session_->root());
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->head_advertised_address, "");
  EXPECT_EQ(ReachedHeadAt(*other), "10.0.0.9:7070");
}

TEST_F(ClusterEndpointTest, ANodesOrAnOlderSessionGivesTheHeadAddressOnly) {
  const auto found = ResolveClusterEndpoint("", session_->root());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->head_advertised_address, "");
  EXPECT_EQ(ReachedHeadAt(*found), "127.0.0.1:7070");
}

}  // namespace
}  // namespace weft
