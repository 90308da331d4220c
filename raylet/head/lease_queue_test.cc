#include "raylet/head/lease_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::head {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(1000);
const ResourceMap kOne = {{"CPU", 1}};
const ResourceMap kTwo = {{"CPU", 2}};

// A cluster with `free` CPUs (and `total` at most): grants what fits, in the order offered.
struct FakeCpus {
  double free = 0;
  double total = 6;
  std::vector<uint64_t> offered;
  LeaseQueue::TryReserve Fn() {
    return [this](uint64_t id, const ResourceMap& required) {
      offered.push_back(id);
      const double cpu = required.at("CPU");
      if (cpu > total) return LeaseQueue::Fit::kInfeasible;
      if (cpu > free) return LeaseQueue::Fit::kNoRoom;
      free -= cpu;
      return LeaseQueue::Fit::kGranted;
    };
  }
};

TEST(LeaseQueueTest, GrantsOneShapeFirstInFirstOut) {
  LeaseQueue queue;
  const auto a = queue.Add(kOne, kStart, absl::InfiniteFuture());
  const auto b = queue.Add(kOne, kStart + absl::Milliseconds(1), absl::InfiniteFuture());
  const auto c = queue.Add(kOne, kStart + absl::Milliseconds(2), absl::InfiniteFuture());
  FakeCpus cpus{.free = 2};
  std::vector<uint64_t> granted, infeasible;
  queue.Grant(kStart, cpus.Fn(), granted, infeasible);
  EXPECT_THAT(granted, ElementsAre(a, b));
  EXPECT_EQ(queue.size(), 1u);
  cpus.free = 1;
  granted.clear();
  queue.Grant(kStart, cpus.Fn(), granted, infeasible);
  EXPECT_THAT(granted, ElementsAre(c));
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_THAT(infeasible, IsEmpty());
}

TEST(LeaseQueueTest, SmallShapesPassABigOneThatJustArrived) {
  LeaseQueue queue(absl::Seconds(2));
  const auto big = queue.Add(kTwo, kStart, absl::InfiniteFuture());
  const auto small = queue.Add(kOne, kStart + absl::Milliseconds(1), absl::InfiniteFuture());
  FakeCpus cpus{.free = 1};
  std::vector<uint64_t> granted, infeasible;
  queue.Grant(kStart + absl::Milliseconds(500), cpus.Fn(), granted, infeasible);
  EXPECT_THAT(granted, ElementsAre(small));
  EXPECT_THAT(cpus.offered, ElementsAre(big, small));  // the older shape was asked first
}

TEST(LeaseQueueTest, ABigShapeThatWaitedLongHoldsBackYoungerOnes) {
  LeaseQueue queue(absl::Seconds(2));
  const auto big = queue.Add(kTwo, kStart, absl::InfiniteFuture());
  queue.Add(kOne, kStart + absl::Seconds(3), absl::InfiniteFuture());
  FakeCpus cpus{.free = 1};
  std::vector<uint64_t> granted, infeasible;
  queue.Grant(kStart + absl::Seconds(3), cpus.Fn(), granted, infeasible);
  EXPECT_THAT(granted, IsEmpty());  // the free CPU stays for the big request
  cpus.free = 2;
  queue.Grant(kStart + absl::Seconds(4), cpus.Fn(), granted, infeasible);
  EXPECT_THAT(granted, ElementsAre(big));
}

TEST(LeaseQueueTest, InfeasibleRequestsLeaveTheQueue) {
  LeaseQueue queue;
  const auto huge = queue.Add({{"CPU", 100}}, kStart, absl::InfiniteFuture());
  FakeCpus cpus{.free = 6};
  std::vector<uint64_t> granted, infeasible;
  queue.Grant(kStart, cpus.Fn(), granted, infeasible);
  EXPECT_THAT(infeasible, ElementsAre(huge));
  EXPECT_EQ(queue.size(), 0u);
}

TEST(LeaseQueueTest, ExpiresOnlyRequestsPastTheirDeadline) {
  LeaseQueue queue;
  const auto soon = queue.Add(kOne, kStart, kStart + absl::Seconds(1));
  const auto later = queue.Add(kOne, kStart, kStart + absl::Seconds(10));
  EXPECT_THAT(queue.Expire(kStart + absl::Seconds(2)), ElementsAre(soon));
  EXPECT_TRUE(queue.Remove(later));
  EXPECT_FALSE(queue.Remove(later));
  EXPECT_EQ(queue.size(), 0u);
}

TEST(LeaseQueueTest, DescribesEachWaitingShape) {
  LeaseQueue queue;
  queue.Add(kTwo, kStart, absl::InfiniteFuture());
  queue.Add(kTwo, kStart, absl::InfiniteFuture());
  EXPECT_THAT(queue.Describe(kStart + absl::Seconds(3)), ElementsAre("CPU=2 x2 (oldest 3s)"));
}

}  // namespace
}  // namespace weft::head
