#include "raylet/node/log_publisher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <future>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace weft::node {
namespace {

// A head that records each publish and answers only when the test says so.
class FakeHead {
 public:
  LogPublisher::Send Send() {
    return [this](proto::PublishLogsRequest request, LogPublisher::Done done) {
      absl::MutexLock lock(&mu_);
      calls_.push_back({std::move(request), std::move(done)});
    };
  }
  // Waits (bounded) for call `i` and answers it with `status`; its lines' texts.
  std::vector<std::string> Answer(size_t i, absl::Status status = absl::OkStatus()) {
    LogPublisher::Done done;
    std::vector<std::string> texts;
    {
      absl::MutexLock lock(&mu_);
      auto arrived = [&] { return calls_.size() > i; };
      if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(5))) return {"<none>"};
      for (const auto& line : calls_[i].request.lines()) texts.push_back(line.text());
      done = std::move(calls_[i].done);
    }
    done(status);
    return texts;
  }
  size_t calls() {
    absl::MutexLock lock(&mu_);
    return calls_.size();
  }

 private:
  struct Call {
    proto::PublishLogsRequest request;
    LogPublisher::Done done;
  };
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

proto::LogLine Line(const std::string& text) {
  proto::LogLine line;
  line.set_text(text);
  return line;
}

class LogPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    publisher_.reset();  // before the io thread stops: it may hold a timer
    work_.reset();
    io_.stop();
    thread_.join();
  }
  LogPublisher& Make(LogPublisher::Options options) {
    publisher_ = std::make_unique<LogPublisher>(io_, options, head_.Send());
    return *publisher_;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread thread_;
  FakeHead head_;
  std::unique_ptr<LogPublisher> publisher_;
};

using ::testing::ElementsAre;

TEST_F(LogPublisherTest, AFullBatchLeavesAtOnceAndTheRestAfterThePeriod) {
  auto& publisher = Make({.period = std::chrono::milliseconds(20), .batch_lines = 2});
  for (const char* text : {"a", "b", "c"}) publisher.Add(Line(text));
  EXPECT_THAT(head_.Answer(0), ElementsAre("a", "b"));
  EXPECT_THAT(head_.Answer(1), ElementsAre("c"));  // by the timer
  EXPECT_EQ(publisher.published(), 3u);
}

TEST_F(LogPublisherTest, OneBatchInFlightAtATimeKeepsLinesInOrder) {
  auto& publisher = Make({.period = std::chrono::milliseconds(1), .batch_lines = 1});
  publisher.Add(Line("1"));
  publisher.Add(Line("2"));
  publisher.Add(Line("3"));
  EXPECT_THAT(head_.Answer(0), ElementsAre("1"));
  EXPECT_THAT(head_.Answer(1), ElementsAre("2"));
  EXPECT_THAT(head_.Answer(2), ElementsAre("3"));
}

TEST_F(LogPublisherTest, FlushSendsAtOnceAndAnswersWhenTheHeadAcknowledged) {
  auto& publisher = Make({.period = std::chrono::hours(1)});
  publisher.Add(Line("x"));
  std::promise<absl::Status> flushed;
  publisher.Flush([&](absl::Status status) { flushed.set_value(status); });
  auto result = flushed.get_future();
  EXPECT_THAT(head_.Answer(0), ElementsAre("x"));
  ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(result.get().ok());
  bool empty_flush = false;
  publisher.Flush([&](absl::Status status) { empty_flush = status.ok(); });
  EXPECT_TRUE(empty_flush);  // nothing pending: answered at once
}

TEST_F(LogPublisherTest, AFailedPublishFailsTheFlushKeepsTheLinesAndRetries) {
  auto& publisher =
      Make({.period = std::chrono::hours(1), .retry_after = std::chrono::milliseconds(10)});
  publisher.Add(Line("keep me"));
  std::promise<absl::Status> flushed;
  publisher.Flush([&](absl::Status status) { flushed.set_value(status); });
  head_.Answer(0, absl::UnavailableError("head down"));
  EXPECT_EQ(flushed.get_future().get().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(head_.Answer(1), ElementsAre("keep me"));  // the retry
  EXPECT_EQ(publisher.published(), 1u);
}

TEST_F(LogPublisherTest, WhileTheHeadIsDownTheOldestLinesAreDroppedAndCounted) {
  auto& publisher = Make({.period = std::chrono::hours(1),
                          .batch_lines = 1,
                          .max_queued = 2,
                          .retry_after = std::chrono::hours(1)});
  publisher.Add(Line("1"));  // in flight
  for (const char* text : {"2", "3", "4", "5"}) publisher.Add(Line(text));
  EXPECT_EQ(publisher.dropped(), 2u);                    // "2" and "3"
  head_.Answer(0, absl::UnavailableError("head down"));  // "1" goes back: "1" dropped too
  EXPECT_EQ(publisher.dropped(), 3u);
  std::promise<absl::Status> flushed;
  publisher.Flush([&](absl::Status status) { flushed.set_value(status); });
  EXPECT_THAT(head_.Answer(1), ElementsAre("4"));
  EXPECT_THAT(head_.Answer(2), ElementsAre("5"));
  EXPECT_TRUE(flushed.get_future().get().ok());
}

TEST_F(LogPublisherTest, FlushAndWaitGivesUpAtItsTimeout) {
  auto& publisher = Make({});
  publisher.Add(Line("never acknowledged"));
  EXPECT_EQ(publisher.FlushAndWait(absl::Milliseconds(50)).code(),
            absl::StatusCode::kDeadlineExceeded);
  head_.Answer(0);  // answering late is harmless
}

}  // namespace
}  // namespace weft::node
