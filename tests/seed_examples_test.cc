// Every seed example runs as a real program against a two-node cluster, found through the
// session directory, and prints what the page prints, each worker line prefixed.

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::ElementsAre;

class SeedExamples : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(2);
    ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "2"}).empty());
  }

  // Runs examples/seed/<name> as a driver of the test cluster; fails the test unless it exits 0.
  std::vector<std::string> RunExample(const std::string& name) {
    auto result = weft::testing::Run({BinPath(name)}, std::chrono::seconds(60),
                                     {"WEFT_SESSION_DIR=" + cluster_->head_session()});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    std::vector<std::string> lines;
    std::istringstream in(result.out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // The worker lines of class `cls` with their prefix removed; all must come from one pid.
  static std::vector<std::string> Tagged(const std::vector<std::string>& lines,
                                         const std::string& cls) {
    const std::regex tagged("^\\(" + cls + " pid=([0-9]+)\\) (.*)$");
    std::vector<std::string> texts;
    std::string pid;
    for (const auto& line : lines) {
      std::smatch match;
      if (!std::regex_match(line, match, tagged)) continue;
      if (pid.empty()) pid = match[1];
      EXPECT_EQ(match[1], pid) << "lines of one actor came from two processes";
      texts.push_back(match[2]);
    }
    return texts;
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(SeedExamples, AsyncActorRunsFourCoroutinesConcurrently) {
  const auto texts = Tagged(RunExample("async_actor"), "AsyncActor");
  const std::string waiting = "Waiting for other coroutines to start.";
  const std::string unblocking = "All coroutines are executing concurrently, unblocking.";
  const std::string ran = "All coroutines ran concurrently.";
  // The barrier: every coroutine started before any got past the event.
  EXPECT_THAT(texts, ElementsAre(waiting, waiting, waiting, unblocking, ran, ran, ran, ran));
}

// `weft timeline` after the program ended: its worker left, having handed its call log to
// its node, and the trace still has the four calls, on four rows (they overlapped).
TEST_F(SeedExamples, TheTimelineOfAnEndedProgramHasOneEventPerCall) {
  RunExample("async_actor");
  std::vector<google::protobuf::Value> calls;
  auto traced_after_the_worker_left = [&] {
    const auto timeline = Weft({"timeline", "-o", "-", "--session-dir", cluster_->head_session()});
    if (timeline.exit_code != 0) return false;
    google::protobuf::Struct trace;
    if (!google::protobuf::util::JsonStringToMessage(timeline.out, &trace).ok()) return false;
    calls.clear();
    for (const auto& event : trace.fields().at("traceEvents").list_value().values()) {
      const auto& fields = event.struct_value().fields();
      const auto name = fields.find("name");
      if (name != fields.end() && name->second.string_value() == "AsyncActor.RunConcurrent") {
        calls.push_back(event);
      }
    }
    if (calls.size() != 4) return false;
    const auto& args = calls[0].struct_value().fields().at("args").struct_value().fields();
    return kill(static_cast<pid_t>(args.at("worker_pid").number_value()), 0) != 0;
  };
  ASSERT_TRUE(WaitFor(traced_after_the_worker_left, std::chrono::seconds(30)))
      << calls.size() << " calls traced, or the worker is still there";
  std::set<double> rows;
  for (const auto& call : calls) rows.insert(call.struct_value().fields().at("tid").number_value());
  EXPECT_EQ(rows.size(), 4u) << "the four calls ran at once";
}

TEST_F(SeedExamples, AwaitRefsPrintsTheValueAwaitedWaitedAndAsAFuture) {
  EXPECT_THAT(RunExample("await_refs"), ElementsAre("1", "1", "1"));
}

TEST_F(SeedExamples, RefFuturesVisitsEveryReferenceAsItCompletes) {
  EXPECT_THAT(RunExample("ref_futures"), ElementsAre("1", "1", "1", "1"));
}

TEST_F(SeedExamples, AsyncActorDefinedStartsAllFiveBeforeAnyFinishes) {
  const auto texts = Tagged(RunExample("async_actor_defined"), "AsyncActor");
  const std::string s = "Started task", f = "Finished task";
  EXPECT_THAT(texts, ElementsAre(s, s, s, s, s, f, f, f, f, f));
}

TEST_F(SeedExamples, AsyncMaxConcurrencyRunsTwoAtATime) {
  const auto texts = Tagged(RunExample("async_max_concurrency"), "AsyncActor");
  const std::string s = "Started task", f = "Finished task";
  EXPECT_THAT(texts, ElementsAre(s, s, f, f, s, s, f, f, s, s, f, f, s, s, f, f));
}

TEST_F(SeedExamples, ThreadedActorRunsBothMethods) {
  const auto texts = Tagged(RunExample("threaded_actor"), "ThreadedActor");
  EXPECT_THAT(texts, ::testing::UnorderedElementsAre("I'm running in a thread!",
                                                     "I'm running in another thread!"));
}

TEST_F(SeedExamples, AsyncTaskWrapperRunsTheCoroutineToCompletion) {
  EXPECT_THAT(RunExample("async_task_wrapper"), ElementsAre("42"));
}

// With no cluster to find, Init starts a local one (like ray.init()) and Shutdown stops it.
TEST(EmbeddedCluster, InitStartsALocalClusterAndShutdownStopsIt) {
  auto embedded_sessions = [] {
    std::set<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator("/tmp")) {
      const std::string name = entry.path().filename();
      if (name.rfind("weft-embedded-", 0) == 0) found.insert(name);
    }
    return found;
  };
  const auto before = embedded_sessions();
  TempDir nowhere;  // an empty session dir: no cluster is recorded there
  auto result = weft::testing::Run({BinPath("threaded_actor")}, std::chrono::seconds(60),
                                   {"WEFT_SESSION_DIR=" + nowhere.path()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, ::testing::HasSubstr("I'm running in another thread!"));
  // The local cluster was stopped and its session dir removed.
  EXPECT_EQ(embedded_sessions(), before);
}

}  // namespace
}  // namespace weft::testing
