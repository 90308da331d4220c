// Concurrency beyond the seed page (issue 15), on a real two-node cluster: the order in which
// an actor starts calls whose arguments are not ready yet.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <optional>

#include "tests/actors/test_actors.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr seconds kWait{20};

// A head (2 CPUs) and a second node (2 CPUs); this process is the driver.
class ConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(2);
    ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "2"}).empty());
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
    signal_.emplace(weft::Actor<Gate>().Remote(2));
  }
  void TearDown() override {
    signal_.reset();
    weft::Shutdown();
    cluster_.reset();
  }

  // A reference that becomes ready only once Release() is called: the first of two arrivals
  // at a Gate expecting two.
  weft::ObjectRef<int> NotReadyYet() { return signal_->Call(&Gate::Arrive); }
  void Release() { ASSERT_EQ(signal_->Call(&Gate::Arrive).Get(kWait), 2); }

  std::unique_ptr<TestCluster> cluster_;
  std::optional<weft::ActorHandle<Gate>> signal_;
};

// As in Ray, an actor that runs calls concurrently starts each call once its arguments exist:
// a call whose argument is not ready does not hold back a later call whose argument is.
TEST_F(ConcurrencyTest, AThreadedActorStartsACallWhoseArgumentIsReadyBeforeOneWhoseIsNot) {
  auto actor = weft::Actor<Recorder>({.max_concurrency = 2}).Remote();
  ASSERT_EQ(actor.Call(&Recorder::Echo, 0).Get(kWait), 0);  // ALIVE
  auto waiting = actor.Call(&Recorder::Append, NotReadyYet());
  auto ready = actor.Call(&Recorder::Append, weft::Put(5));
  ready.Get(kWait);
  Release();
  waiting.Get(kWait);
  EXPECT_THAT(actor.Call(&Recorder::Sequence).Get(kWait), ::testing::ElementsAre(5, 1));
}

TEST_F(ConcurrencyTest, AnAsyncActorStartsACallWhoseArgumentIsReadyBeforeOneWhoseIsNot) {
  auto actor = weft::Actor<Gate>().Remote(1);
  ASSERT_EQ(actor.Call(&Gate::Echo, 0).Get(kWait), 0);
  auto waiting = actor.Call(&Gate::Echo, NotReadyYet());
  auto ready = actor.Call(&Gate::Echo, weft::Put(5));
  EXPECT_EQ(ready.Get(kWait), 5);
  Release();
  EXPECT_EQ(waiting.Get(kWait), 1);
}

// Made before the actor is placed: the calls go out once it is, each as its argument exists.
TEST_F(ConcurrencyTest, CallsMadeBeforeTheActorIsPlacedStartAsTheirArgumentsBecomeReady) {
  auto actor = weft::Actor<Gate>().Remote(1);
  auto waiting = actor.Call(&Gate::Echo, NotReadyYet());
  auto ready = actor.Call(&Gate::Echo, weft::Put(5));
  EXPECT_EQ(ready.Get(kWait), 5);
  Release();
  EXPECT_EQ(waiting.Get(kWait), 1);
}

// An actor that runs one call at a time keeps submission order (the seed page and Ray): the
// later call waits for the earlier one's argument. A Get that gives up meanwhile says so,
// not that the actor is being placed (it was when the calls were made).
TEST_F(ConcurrencyTest, AnActorOfOneCallAtATimeKeepsOrderAndTheTimeoutSaysWhatTheCallWaitsFor) {
  auto actor = weft::Actor<Recorder>().Remote();
  auto waiting = actor.Call(&Recorder::Append, NotReadyYet());
  auto later = actor.Call(&Recorder::Append, weft::Put(5));
  ASSERT_TRUE(
      WaitFor([&] { return cluster_->GetActor(actor.id()).state() == proto::ACTOR_ALIVE; }, kWait));
  try {
    later.Get(milliseconds(300));
    FAIL() << "a call ran before an earlier call of its caller";
  } catch (const weft::GetTimeoutError& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("queued behind"), HasSubstr("waits for its argument"),
                                    Not(HasSubstr("pending"))));
  }
  try {
    waiting.Get(milliseconds(300));
    FAIL() << "the call ran before its argument existed";
  } catch (const weft::GetTimeoutError& error) {
    EXPECT_THAT(error.what(),
                AllOf(HasSubstr("waits for its argument"), Not(HasSubstr("pending"))));
  }
  Release();
  later.Get(kWait);
  EXPECT_THAT(actor.Call(&Recorder::Sequence).Get(kWait), ::testing::ElementsAre(1, 5));
}

}  // namespace
}  // namespace weft::testing
