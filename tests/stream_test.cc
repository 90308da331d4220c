// Streaming results (issue 15), on a real two-node cluster: generators on a threaded actor,
// an async actor and in a task, their items taken in order as they are produced, the producer
// held to its window (backpressure), an error at its position, large items, cancellation.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <weft/weft.h>

#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/actors/stream_actors.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr seconds kWait{20};
constexpr int kWindow = 64;  // CallOptions::stream_window's default

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(2);
    ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "2"}).empty());
    weft::Init({.address = cluster_->head_address(), .session_dir = cluster_->head_session()});
  }
  void TearDown() override {
    weft::Shutdown();
    cluster_.reset();
  }

  // Takes 10,000 items of `stream` in order; halfway, the producer (whose count Produced()
  // gives) must have run ahead of the taker, but by no more than its window.
  template <class Stream, class Produced>
  void TakeTenThousand(Stream stream, Produced produced) {
    int expected = 0;
    for (weft::ObjectRef<int> item : stream) {
      ASSERT_EQ(item.Get(kWait), expected);
      if (++expected == 5000) {
        // It ran ahead: at least the window less what the taker has not acknowledged yet.
        EXPECT_TRUE(WaitFor([&] { return produced() >= 5000 + kWindow - kWindow / 4; }, kWait))
            << produced();
        EXPECT_LE(produced(), 5000 + kWindow);  // and no further
      }
    }
    EXPECT_EQ(expected, 10000);
    EXPECT_EQ(stream.call().Get(kWait), 10000);  // the call's own result: its number of items
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(StreamTest, ThreadedActorStreamsTenThousandItemsInOrderWithinItsWindow) {
  auto actor = weft::Actor<Streamer>().Remote();
  TakeTenThousand(actor.Call(&Streamer::Count, 10000),
                  [&] { return actor.Call(&Streamer::Produced).Get(kWait); });
}

TEST_F(StreamTest, AsyncActorStreamsTenThousandItemsInOrderWithinItsWindow) {
  auto actor = weft::Actor<AsyncStreamer>().Remote();
  TakeTenThousand(actor.Call(&AsyncStreamer::Count, 10000),
                  [&] { return actor.Call(&AsyncStreamer::Produced).Get(kWait); });
}

TEST_F(StreamTest, ATaskStreamsItsItems) {
  auto stream = weft::Task(&TaskCount).Remote(100);
  int sum = 0, count = 0;
  for (auto item : stream) sum += item.Get(kWait), ++count;
  EXPECT_EQ(count, 100);
  EXPECT_EQ(sum, 99 * 100 / 2);
}

// An error ends the stream with that error at its position: items 0..4, then the error.
TEST_F(StreamTest, AStreamFailingAtItemFiveEndsWithTheErrorThere) {
  auto threaded = weft::Actor<Streamer>().Remote();
  auto async = weft::Actor<AsyncStreamer>().Remote();
  auto check = [](auto stream) {
    std::vector<int> values;
    std::optional<std::string> error;
    int items = 0;
    for (weft::ObjectRef<int> item : stream) {
      ++items;
      try {
        values.push_back(item.Get(kWait));
      } catch (const weft::RemoteError& e) {
        EXPECT_TRUE(e.Is<std::runtime_error>()) << e.what();
        error = e.message();
      }
    }
    EXPECT_THAT(values, ::testing::ElementsAre(0, 1, 2, 3, 4));
    EXPECT_EQ(items, 6);  // the error is the sixth item, and the last
    EXPECT_EQ(error, "failed at 5");
    EXPECT_THROW(stream.call().Get(kWait), weft::RemoteError);
  };
  check(threaded.Call(&Streamer::FailAt, 10, 5));
  check(async.Call(&AsyncStreamer::FailAt, 10, 5));
}

// The first item is there while the producer still waits for something before its second.
TEST_F(StreamTest, AnItemIsAvailableAsSoonAsItIsProduced) {
  auto actor = weft::Actor<AsyncStreamer>().Remote();
  auto stream = actor.Call(&AsyncStreamer::Gated);
  auto first = stream.Next(kWait);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->Get(kWait), 1);
  EXPECT_THROW(stream.Next(milliseconds(300)), weft::GetTimeoutError);  // the producer waits
  actor.Call(&AsyncStreamer::Open).Get(kWait);
  auto second = stream.Next(kWait);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->Get(kWait), 2);
  EXPECT_FALSE(stream.Next(kWait));
}

// Items over the inline threshold stay in the producer's store and are fetched from there.
TEST_F(StreamTest, LargeItemsAreStoredAndFetched) {
  auto actor = weft::Actor<Streamer>().Remote();
  int count = 0;
  for (auto item : actor.Call(&Streamer::Big, 3, 2 << 20)) {
    const std::string value = item.Get(kWait);
    EXPECT_EQ(value.size(), 2u << 20);
    EXPECT_EQ(value.front(), 'a' + count);
    ++count;
  }
  EXPECT_EQ(count, 3);
}

// Cancelling the call ends the stream: the producer stops at its co_await, and the stream's
// last item is the cancellation.
TEST_F(StreamTest, CancellingTheCallEndsTheStreamWithTheCancellation) {
  auto actor = weft::Actor<AsyncStreamer>().Remote();
  auto stream = actor.Call(&AsyncStreamer::Gated);
  ASSERT_EQ(stream.Next(kWait)->Get(kWait), 1);
  EXPECT_EQ(weft::Cancel(stream.call()), weft::CancelOutcome::kRequested);
  auto last = stream.Next(kWait);
  ASSERT_TRUE(last);
  EXPECT_THROW(last->Get(kWait), weft::TaskCancelledError);
  EXPECT_FALSE(stream.Next(kWait));
}

// Dropped before its end, a stream cancels its producer, which would wait for room forever.
TEST_F(StreamTest, DroppingAStreamEarlyStopsItsProducer) {
  auto actor = weft::Actor<Streamer>().Remote();
  {
    auto stream = actor.Call(&Streamer::Count, 1000000);
    ASSERT_EQ(stream.Next(kWait)->Get(kWait), 0);
  }
  // The producer is cancelled at its window: the actor serves its next call.
  auto next = actor.Call(&Streamer::Count, 3);
  int count = 0;
  for (auto item : next) count += item.valid();
  EXPECT_EQ(count, 3);
  EXPECT_LE(actor.Call(&Streamer::Produced).Get(kWait), 1 + kWindow + 3);
}

// A caller that dies mid-stream leaves no producer waiting for room: the actor (one call at a
// time) serves its next call.
TEST_F(StreamTest, ACallerThatDiesMidStreamDoesNotHoldUpTheProducersActor) {
  auto actor = weft::Actor<Streamer>({.name = "streamer", .detached = true}).Remote();
  auto result = weft::testing::Run({BinPath("stream_driver"), "streamer"}, seconds(60),
                                   {"WEFT_SESSION_DIR=" + cluster_->head_session()});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  ASSERT_THAT(result.out, HasSubstr("took 0"));
  auto next = actor.Call(&Streamer::Count, 3);
  for (int i = 0; i < 3; ++i) {
    auto item = next.Next(kWait);  // throws GetTimeoutError if the dead caller's stream holds it
    ASSERT_TRUE(item);
    EXPECT_EQ(item->Get(kWait), i);
  }
  EXPECT_FALSE(next.Next(kWait));
  weft::Kill(actor);
}

// Iterating a stream would block an async actor's loop: it throws, as Get does.
TEST_F(StreamTest, IteratingAStreamOnAnAsyncActorsLoopThrows) {
  auto producer = weft::Actor<Streamer>().Remote();
  auto async = weft::Actor<AsyncStreamer>().Remote();
  try {
    async.Call(&AsyncStreamer::Drain, producer).Get(kWait);
    ADD_FAILURE() << "iterating on the loop did not throw";
  } catch (const weft::RemoteError& e) {
    EXPECT_THAT(e.message(), HasSubstr("would block the event loop"));
  }
}

// examples/concurrency/stream_results, as a user runs it against a cluster.
TEST_F(StreamTest, TheStreamingExamplePrintsItsItems) {
  auto result = weft::testing::Run({BinPath("stream_results")}, seconds(60),
                                   {"WEFT_SESSION_DIR=" + cluster_->head_session()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  // The worker's line (of the call named "generate") comes whenever it arrives.
  std::string own;
  for (const auto& line : absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "(generate pid=")) {
      EXPECT_THAT(std::string(line), HasSubstr(") generating: the quick brown fox"));
    } else {
      absl::StrAppend(&own, line, "\n");
    }
  }
  EXPECT_THAT(result.out, HasSubstr("(generate pid="));
  EXPECT_EQ(own,
            "tokens: the quick brown fox\n"
            "squares: 0 1 4 9 16 (sum of 10000: 333283335000)\n"
            "stream failed after 3 items: std::runtime_error: disk full\n");
}

}  // namespace
}  // namespace weft::testing
