#include "raylet/node/line_splitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace weft::node {
namespace {

using ::testing::ElementsAre;

struct Collect {
  std::vector<std::string> lines;
  LineSplitter::Emit emit() {
    return [this](std::string line) { lines.push_back(std::move(line)); };
  }
};

TEST(LineSplitter, LinesMayArriveInAnyPieces) {
  LineSplitter splitter;
  Collect out;
  splitter.Feed("he", out.emit());
  splitter.Feed("llo\nwor", out.emit());
  splitter.Feed("ld\n\nlast", out.emit());
  EXPECT_THAT(out.lines, ElementsAre("hello", "world", ""));
  splitter.Finish(out.emit());
  EXPECT_THAT(out.lines, ElementsAre("hello", "world", "", "last"));
  splitter.Finish(out.emit());  // nothing left
  EXPECT_EQ(out.lines.size(), 4u);
}

TEST(LineSplitter, LongLinesAreSplitAtTheLimit) {
  LineSplitter splitter(4);
  Collect out;
  splitter.Feed("abcdefghij\nxy", out.emit());
  splitter.Feed("zw\n", out.emit());
  EXPECT_THAT(out.lines, ElementsAre("abcd", "efgh", "ij", "xyzw"));
}

TEST(LineSplitter, ALineOfExactlyTheLimitIsOneLine) {
  LineSplitter splitter(4);
  Collect out;
  splitter.Feed("abcd", out.emit());
  splitter.Feed("\nefgh\n", out.emit());
  EXPECT_THAT(out.lines, ElementsAre("abcd", "efgh"));
}

TEST(LineSplitter, DefaultLimitIs64KiB) {
  LineSplitter splitter;
  Collect out;
  splitter.Feed(std::string(LineSplitter::kMaxLine + 10, 'x') + "\n", out.emit());
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[0].size(), LineSplitter::kMaxLine);
  EXPECT_EQ(out.lines[1].size(), 10u);
}

}  // namespace
}  // namespace weft::node
