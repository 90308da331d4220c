// The cluster's largest message (issue 13): a head started with --max-message-size makes its
// drivers and workers follow it; a call whose arguments are over it fails alone, before it is
// sent, with an error that names the limit and the flag, and the calls beside it go on.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <string>
#include <vector>

#include "tests/actors/nested_actors.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kLimit = 4 * kMiB;

class MessageLimitTest : public DrivenClusterTest {
 protected:
  static void SetUpTestSuite() { Attach(new TestCluster(2, {"--max-message-size", "4MiB"})); }
};

void ExpectTooLarge(const std::function<void()>& get) {
  try {
    get();
    ADD_FAILURE() << "a call with arguments over the limit was sent";
  } catch (const weft::MessageTooLargeError& e) {
    EXPECT_THAT(e.message(), HasSubstr(std::to_string(kLimit)));
    EXPECT_THAT(e.message(), HasSubstr("--max-message-size"));
  }
}

// Between calls of 1 KiB, one with a 6 MiB argument: it fails, the others all return.
TEST_F(MessageLimitTest, ACallOverTheLimitFailsAloneAndTheCallsBesideItGoOn) {
  auto actor = weft::Actor<Recorder>().Remote();
  const std::string small(1024, 's'), large(6 * kMiB, 'L');
  std::vector<weft::ObjectRef<int64_t>> before, after;
  for (int i = 0; i < 5; ++i) before.push_back(actor.Call(&Recorder::Checksum, small));
  auto too_large = actor.Call(&Recorder::Checksum, large);
  for (int i = 0; i < 5; ++i) after.push_back(actor.Call(&Recorder::Checksum, small));
  ExpectTooLarge([&] { too_large.Get(kBound); });
  const int64_t expected = Recorder().Checksum(small);
  for (auto& ref : before) EXPECT_EQ(ref.Get(kBound), expected);
  for (auto& ref : after) EXPECT_EQ(ref.Get(kBound), expected);
  // The actor serves on.
  EXPECT_EQ(actor.Call(&Recorder::Echo, 7).Get(kBound), 7);
}

// Calls under the limit whose sum is over it, sent back to back, are each delivered: the
// stream's batches are cut at the limit.
TEST_F(MessageLimitTest, CallsUnderTheLimitThatTogetherExceedItAllArrive) {
  auto actor = weft::Actor<Recorder>().Remote();
  const std::string part(kLimit / 3, 'x');
  const int64_t expected = Recorder().Checksum(part);
  auto busy = actor.Call(&Recorder::SlowEcho, 1, 200);  // the next calls queue up meanwhile
  std::vector<weft::ObjectRef<int64_t>> refs;
  for (int i = 0; i < 24; ++i) refs.push_back(actor.Call(&Recorder::Checksum, part));
  EXPECT_EQ(busy.Get(kBound), 1);
  for (auto& ref : refs) EXPECT_EQ(ref.Get(kBound), expected);
}

// An actor whose constructor arguments are over the limit is not created: Remote() says why.
TEST_F(MessageLimitTest, AnActorWhoseConstructorArgumentsAreOverTheLimitIsNotCreated) {
  ExpectTooLarge([] { weft::Actor<ValueHolder>().Remote(std::string(5 * kMiB, 'v')); });
  auto fine = weft::Actor<ValueHolder>().Remote(std::string(kMiB, 'v'));
  EXPECT_EQ(fine.Call(&ValueHolder::Size).Get(kBound), kMiB);
}

// An answer over the limit (here an exception's 6 MiB message) fails its call alone: the
// calls before and after it on the same stream return.
TEST_F(MessageLimitTest, AnAnswerOverTheLimitFailsItsCallAlone) {
  auto actor = weft::Actor<ValueHolder>().Remote(std::string("x"));
  auto before = actor.Call(&ValueHolder::Size);
  auto too_large = actor.Call(&ValueHolder::FailWith, 6 * kMiB);
  auto after = actor.Call(&ValueHolder::Size);
  EXPECT_EQ(before.Get(kBound), 1);
  try {
    too_large.Get(kBound);
    ADD_FAILURE() << "an answer over the limit arrived";
  } catch (const weft::MessageTooLargeError& e) {
    EXPECT_THAT(e.message(), HasSubstr("answer weighs"));
    EXPECT_THAT(e.message(), HasSubstr("--max-message-size"));
  }
  EXPECT_EQ(after.Get(kBound), 1);
}

// A task too: it fails alone, and a task beside it runs.
TEST_F(MessageLimitTest, ATaskOverTheLimitFailsAlone) {
  auto too_large = weft::Task(&Shout).Remote(std::string(5 * kMiB, 'a'));
  auto fine = weft::Task(&Shout).Remote(std::string("ok"));
  ExpectTooLarge([&] { too_large.Get(kBound); });
  EXPECT_EQ(fine.Get(kBound), Shout("ok"));
}

}  // namespace
}  // namespace weft::testing
