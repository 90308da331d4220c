#include "cli/log_tail.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace weft::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class LogTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/weft_log_tail_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/worker.out";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Append(const std::string& text) { std::ofstream(path_, std::ios::app) << text; }

  std::string dir_, path_;
};

TEST_F(LogTailTest, ReturnsCompleteLinesThenOnlyWhatWasAdded) {
  Append("one\ntwo\nthr");
  LogTail tail(path_);
  ASSERT_TRUE(tail.Open().ok());
  EXPECT_THAT(tail.ReadLines(), ElementsAre("one", "two"));
  EXPECT_THAT(tail.ReadLines(), IsEmpty());
  Append("ee\nfour\n");
  EXPECT_THAT(tail.ReadLines(), ElementsAre("three", "four"));
}

TEST_F(LogTailTest, FinalReadReturnsTheUnfinishedLine) {
  Append("done\nhalf");
  LogTail tail(path_);
  ASSERT_TRUE(tail.Open().ok());
  EXPECT_THAT(tail.ReadLines(/*final=*/true), ElementsAre("done", "half"));
}

TEST_F(LogTailTest, MissingFileIsNotFoundWithItsPath) {
  LogTail tail(dir_ + "/nope.out");
  const auto status = tail.Open();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(dir_ + "/nope.out"));
}

TEST(LineBelongsToTest, TaggedLinesBelongToTheirClassOnly) {
  EXPECT_TRUE(LineBelongsTo("(Counter pid=12) added 3", "Counter"));
  EXPECT_FALSE(LineBelongsTo("(Greeter pid=12) hello", "Counter"));
  EXPECT_FALSE(LineBelongsTo("(Count pid=12) x", "Counter"));
}

TEST(LineBelongsToTest, UntaggedLinesBelongToEveryActor) {
  EXPECT_TRUE(LineBelongsTo("plain output", "Counter"));
  EXPECT_TRUE(LineBelongsTo("", "Counter"));
  EXPECT_TRUE(LineBelongsTo("(not a tag) text", "Counter"));
  EXPECT_TRUE(LineBelongsTo("(Greeter pid=) text", "Counter"));
  EXPECT_TRUE(LineBelongsTo("(Greeter pid=1x) text", "Counter"));
}

// A log on another machine, read through its node a chunk at a time from an offset.
TEST(RemoteLogTailTest, AFileNotOnThisMachineIsReadThroughItsNodeFromWhereItLeftOff) {
  std::string file = "first\nsec";  // what the node's file holds
  std::vector<int64_t> asked;
  LogTail tail("/nonexistent/weft-log-tail-test.out", [&](int64_t offset) {
    asked.push_back(offset);
    return absl::StatusOr<std::string>(file.substr(static_cast<size_t>(offset)));
  });
  ASSERT_TRUE(tail.Open().ok());
  EXPECT_TRUE(tail.remote());
  EXPECT_THAT(tail.ReadLines(), ::testing::ElementsAre("first"));
  file += "ond\nthird";
  EXPECT_THAT(tail.ReadLines(), ::testing::ElementsAre("second"));
  EXPECT_THAT(tail.ReadLines(true), ::testing::ElementsAre("third"));
  EXPECT_EQ(asked.front(), 0);
  EXPECT_EQ(asked[asked.size() - 2], 9) << "each read starts where the last one ended";
}

TEST(RemoteLogTailTest, ANodeThatCannotReadItIsTheError) {
  LogTail tail("/nonexistent/weft-log-tail-test.out", [](int64_t) {
    return absl::StatusOr<std::string>(absl::NotFoundError("this node knows no worker w"));
  });
  const auto status = tail.Open();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("knows no worker"));
  LogTail local_only("/nonexistent/weft-log-tail-test.out");
  EXPECT_EQ(local_only.Open().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace weft::cli
