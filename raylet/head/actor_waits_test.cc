#include "raylet/head/actor_waits.h"

#include <gtest/gtest.h>

#include <chrono>

namespace weft::head {
namespace {

using std::chrono::seconds;

class ActorWaitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proto::ActorInfo info;
    info.set_class_name("Counter");
    auto actor = actors_.Register(info);
    ASSERT_TRUE(actor.ok()) << actor.status();
    id_ = actor->actor_id();
  }

  void Die() {
    auto info = actors_.Get(id_);
    ASSERT_TRUE(info.ok());
    info->set_state(proto::ACTOR_DEAD);
    ASSERT_TRUE(actors_.Update(*info).ok());
    waits_.Notify(id_);
  }

  ActorDirectory actors_;
  ActorWaits waits_{actors_};
  std::string id_;
};

TEST_F(ActorWaitsTest, AWaitForAStateThatIsNotTheActorsIsAnsweredAtOnce) {
  int answered = 0;
  EXPECT_EQ(waits_.Wait(id_, proto::ACTOR_ALIVE, seconds(30), [&](auto) { ++answered; }), 0u);
  EXPECT_EQ(answered, 1);
  EXPECT_EQ(waits_.parked(), 0u);
}

// A cancelled wait (its caller went away) is taken out and never answered; the others of the
// same actor still are.
TEST_F(ActorWaitsTest, ACancelledWaitIsTakenOutAndNeverAnswered) {
  int first = 0, second = 0;
  const uint64_t a = waits_.Wait(id_, proto::ACTOR_PENDING, seconds(30), [&](auto) { ++first; });
  const uint64_t b = waits_.Wait(id_, proto::ACTOR_PENDING, seconds(30), [&](auto) { ++second; });
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, a);
  EXPECT_EQ(waits_.parked(), 2u);
  EXPECT_TRUE(waits_.Cancel(id_, a));
  EXPECT_EQ(waits_.parked(), 1u);
  EXPECT_FALSE(waits_.Cancel(id_, a)) << "cancelled twice";
  Die();
  EXPECT_EQ(first, 0) << "a cancelled wait was answered";
  EXPECT_EQ(second, 1);
  EXPECT_EQ(waits_.parked(), 0u);
}

// Cancel says whether the canceller must finish the call: not when the wait was answered.
TEST_F(ActorWaitsTest, AWaitAnsweredBeforeItsCancelIsNotCancelled) {
  int answered = 0;
  const uint64_t a = waits_.Wait(id_, proto::ACTOR_PENDING, seconds(30), [&](auto) { ++answered; });
  Die();
  EXPECT_EQ(answered, 1);
  EXPECT_FALSE(waits_.Cancel(id_, a));
}

}  // namespace
}  // namespace weft::head
