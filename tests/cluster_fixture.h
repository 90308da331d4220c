#pragma once

// A test suite whose cases share one cluster: a head and two nodes, 2 CPUs each, driven by
// the test process (weft::Init). ctest runs each case in a process of its own, so every case
// still gets a fresh cluster.

#include <gtest/gtest.h>
#include <weft/weft.h>

#include <chrono>
#include <memory>

#include "tests/cluster_harness.h"

namespace weft::testing {

// Generous bound for a 2-core machine running the whole suite: a hang fails, never blocks.
inline constexpr std::chrono::seconds kBound{60};

// A suite whose cases share one cluster that the test process drives: its SetUpTestSuite
// starts the cluster and Attaches it; the driver and the cluster end with the suite.
class DrivenClusterTest : public ::testing::Test {
 protected:
  static void Attach(TestCluster* cluster) {
    cluster_ = cluster;
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
  }
  static void TearDownTestSuite() {
    weft::Shutdown();
    delete cluster_;
    cluster_ = nullptr;
  }
  static inline TestCluster* cluster_ = nullptr;
};

// A head and one node, 2 CPUs each.
class TwoNodeClusterTest : public DrivenClusterTest {
 protected:
  static void SetUpTestSuite() {
    auto* cluster = new TestCluster(2);
    cluster_ = cluster;
    ASSERT_FALSE(cluster->JoinNode({"--num-cpus", "2"}).empty());
    ASSERT_TRUE(WaitFor([] { return cluster_->AliveNodeCount() == 2; }));
    Attach(cluster);
  }
};

class ThreeNodeClusterTest : public DrivenClusterTest {
 protected:
  static void SetUpTestSuite() {
    auto* cluster = new TestCluster(2);
    cluster_ = cluster;  // stopped with the suite even when a node does not join
    for (int i = 0; i < 2; ++i) ASSERT_FALSE(cluster->JoinNode({"--num-cpus", "2"}).empty());
    ASSERT_TRUE(WaitFor([] { return cluster_->ListNodes().nodes_size() == 3; }));
    Attach(cluster);
  }
  // After every case, as the user would expect: every lease went back (idle ones after 1 s).
  void TearDown() override {
    EXPECT_TRUE(WaitFor([] { return cluster_->FreeCpus() == cluster_->TotalCpus(); },
                        std::chrono::seconds(15)))
        << cluster_->FreeCpus() << " of " << cluster_->TotalCpus() << " CPUs free";
  }
};

}  // namespace weft::testing
