#include "worker/output_tag.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weft::worker {
namespace {

// Runs `print` with file descriptor `fd` (1 or 2) sent to a temp file; returns the bytes
// that reached the descriptor.
std::string Capture(int fd, const std::function<void()>& print) {
  InstallOutputTags();
  std::fflush(nullptr);
  char path[] = "/tmp/weft_output_tag_test.XXXXXX";
  const int file = mkstemp(path);
  EXPECT_GE(file, 0);
  const int saved = dup(fd);
  dup2(file, fd);
  print();
  dup2(saved, fd);
  close(saved);
  close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  return text.str();
}

std::string Prefix(const std::string& tag) {
  return absl::StrCat("(", tag, " pid=", getpid(), ") ");
}

TEST(OutputTag, LinesWithoutATagGoOutUnchanged) {
  EXPECT_EQ(Capture(1, [] { std::cout << "plain " << 42 << "\n"; }), "plain 42\n");
}

TEST(OutputTag, TaggedLinesArePrefixedWithTheTagAndPid) {
  const std::string out = Capture(1, [] {
    ScopedOutputTag tag("Counter");
    std::cout << "added " << 3 << std::endl;
  });
  EXPECT_EQ(out, Prefix("Counter") + "added 3\n");
}

TEST(OutputTag, NestedTagsRestoreTheOuterOneAndThenNone) {
  const std::string out = Capture(1, [] {
    {
      ScopedOutputTag outer("Outer");
      std::cout << "a\n";
      {
        ScopedOutputTag inner("Inner");
        std::cout << "b\n";
      }
      std::cout << "c\n";
    }
    std::cout << "d\n";
  });
  EXPECT_EQ(out, Prefix("Outer") + "a\n" + Prefix("Inner") + "b\n" + Prefix("Outer") + "c\nd\n");
}

TEST(OutputTag, StderrLinesGoToFd2Tagged) {
  const std::string err = Capture(2, [] {
    ScopedOutputTag tag("Logger");
    std::cerr << "oops\n";
  });
  EXPECT_EQ(err, Prefix("Logger") + "oops\n");
}

TEST(OutputTag, AFlushWritesAPartialLineAndSeveralLinesInOneWriteSplit) {
  const std::string out = Capture(1, [] {
    ScopedOutputTag tag("P");
    std::cout << "no newline" << std::flush;
    std::cout << "one\ntwo\nthr";
    std::cout << "ee\n";
  });
  EXPECT_EQ(out, Prefix("P") + "no newline" + Prefix("P") + "one\n" + Prefix("P") + "two\n" +
                     Prefix("P") + "three\n");
}

TEST(OutputTag, ALineLeftUnfinishedIsWrittenUnderItsTagWhenTheTagEnds) {
  // A pool thread runs one actor's call, then another's: the first's unfinished line must not
  // end up under the second's tag.
  const std::string out = Capture(1, [] {
    {
      ScopedOutputTag first("First");
      std::cout << "half a line";
    }
    ScopedOutputTag second("Second");
    std::cout << "whole\n";
  });
  EXPECT_EQ(out, Prefix("First") + "half a line" + Prefix("Second") + "whole\n");
}

TEST(OutputTag, LinesOfTwoThreadsStayWholeAndCarryTheirThreadsTag) {
  constexpr int kLines = 2000;
  const std::string out = Capture(1, [] {
    auto print = [](const std::string& name) {
      ScopedOutputTag tag(name);
      // Each line in several pieces: a shared buffer would interleave them.
      for (int i = 0; i < kLines; ++i) std::cout << "line " << i << " of " << name << '\n';
    };
    std::thread a(print, "Alpha"), b(print, "Beta");
    a.join();
    b.join();
  });
  std::map<std::string, int> next = {{"Alpha", 0}, {"Beta", 0}};
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    bool matched = false;
    for (auto& [name, i] : next) {
      if (line == absl::StrCat(Prefix(name), "line ", i, " of ", name)) {
        ++i;
        matched = true;
      }
    }
    ASSERT_TRUE(matched) << "torn or misordered line: " << line;
  }
  EXPECT_EQ(next["Alpha"], kLines);
  EXPECT_EQ(next["Beta"], kLines);
}

TEST(OutputTag, AThreadThatEndsMidLineStillWritesIt) {
  const std::string out = Capture(1, [] { std::thread([] { std::cout << "unfinished"; }).join(); });
  EXPECT_EQ(out, "unfinished");
}

}  // namespace
}  // namespace weft::worker
