// WorkerOutputs with a real WorkerPool: workers' pipes are tailed on an io_context, appended
// to their log files and cut into lines that carry the worker's job, ids, pid and stream.

#include "raylet/node/worker_output.h"

#include <asio/executor_work_guard.hpp>

#include "raylet/node/worker_pool_test_fixture.h"

namespace weft::node::testing {
namespace {

using ::testing::ElementsAre;

class WorkerOutputTest : public WorkerPoolTest {
 protected:
  void SetUp() override {
    WorkerPoolTest::SetUp();
    outputs_ = std::make_unique<WorkerOutputs>(io_, [this](proto::LogLine line) {
      absl::MutexLock lock(&lines_mu_);
      lines_.push_back(std::move(line));
    });
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    WorkerPoolTest::TearDown();
    work_.reset();
    io_.stop();
    io_thread_.join();
    outputs_.reset();
  }
  WorkerPool& MakeWatchedPool(const std::string& binary) {
    WorkerPool::Options options = PoolOptions(binary);
    options.watch_output = [this](const proto::WorkerInfo& worker, int out, int err) {
      outputs_->Watch(worker, out, err);
    };
    return MakePool(options);
  }
  std::vector<proto::LogLine> Lines() {
    absl::MutexLock lock(&lines_mu_);
    return lines_;
  }
  std::vector<std::string> Texts(proto::LogStream stream) {
    std::vector<std::string> out;
    for (const auto& line : Lines()) {
      if (line.stream() == stream) out.push_back(line.text());
    }
    return out;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread io_thread_;
  std::unique_ptr<WorkerOutputs> outputs_;
  absl::Mutex lines_mu_;
  std::vector<proto::LogLine> lines_ ABSL_GUARDED_BY(lines_mu_);
};

TEST_F(WorkerOutputTest, LinesCarryTheWorkersIdsAndStreamAndStillReachTheLogFiles) {
  MakeWatchedPool(RecorderScript());
  Start();
  const proto::WorkerInfo worker = OnlyWorker();
  ASSERT_TRUE(WaitFor([&] { return Lines().size() >= 2; }));
  EXPECT_THAT(Texts(proto::LOG_STDOUT), ElementsAre(absl::StrCat("to stdout from ", worker.pid())));
  EXPECT_THAT(Texts(proto::LOG_STDERR), ElementsAre(absl::StrCat("to stderr from ", worker.pid())));
  for (const auto& line : Lines()) {
    EXPECT_EQ(line.job_id(), "job-1");
    EXPECT_EQ(line.worker_id(), worker.worker_id());
    EXPECT_EQ(line.node_id(), "node-under-test");
    EXPECT_EQ(line.pid(), worker.pid());
  }
  EXPECT_EQ(ReadAll(worker.stdout_path()), absl::StrCat("to stdout from ", worker.pid(), "\n"));
  EXPECT_EQ(ReadAll(worker.stderr_path()), absl::StrCat("to stderr from ", worker.pid(), "\n"));
}

TEST_F(WorkerOutputTest, OutputWrittenJustBeforeExitIsReadToTheEndAndLongLinesAreSplit) {
  // 100 numbered lines, one 70 KiB line, and a last line without '\n'; then exit.
  MakeWatchedPool(Script("chatty.sh",
                         "i=0; while [ $i -lt 100 ]; do echo \"line $i\"; i=$((i+1)); done\n"
                         "head -c 71680 /dev/zero | tr '\\0' x; echo\n"
                         "printf 'no newline'"));
  Start();
  ASSERT_TRUE(ReapUntilExits(1));
  ASSERT_TRUE(WaitFor([&] { return outputs_->open_pipes() == 0; }));
  const auto out = Texts(proto::LOG_STDOUT);
  ASSERT_EQ(out.size(), 103u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], absl::StrCat("line ", i));
  EXPECT_EQ(out[100], std::string(64 * 1024, 'x'));
  EXPECT_EQ(out[101], std::string(71680 - 64 * 1024, 'x'));
  EXPECT_EQ(out[102], "no newline");
}

TEST_F(WorkerOutputTest, DrainNowReadsWhatThePipesHoldWithoutWaiting) {
  MakeWatchedPool(RecorderScript());
  Start();
  const pid_t pid = OnlyWorker().pid();
  ASSERT_TRUE(WaitFor([&] { return Exists(ArgvFile(pid)); }));  // it has printed both lines
  outputs_->DrainNow();  // from this thread, while the io thread may read too
  ASSERT_TRUE(WaitFor([&] { return Lines().size() >= 2; }));
  EXPECT_EQ(Lines().size(), 2u);         // each line once, whoever read it
  EXPECT_EQ(outputs_->open_pipes(), 2);  // the worker still runs
}

// A submitted job's driver (issue 18): both streams in one pipe, in the order printed, kept
// in one file up to a bound, never published (the driver prints its workers' lines itself).
TEST_F(WorkerOutputTest, ADriversOutputIsKeptInOrderUpToItsBoundAndNeverPublished) {
  WorkerPool::Options options = PoolOptions(RecorderScript());
  options.watch_output = [this](const proto::WorkerInfo& worker, int out, int err) {
    outputs_->Watch(worker, out, err,
                    {.publish = !worker.driver(), .max_file_bytes = worker.driver() ? 100 : 0});
  };
  WorkerPool& pool = MakePool(options);
  fs::create_directory(dir_ + "/cwd");
  const std::string driver =
      Script("driver.sh",
             "pwd; echo \"job $WEFT_JOB_ID at $WEFT_ADDRESS $EXTRA\"; echo oops >&2\n"
             "head -c 200 /dev/zero | tr '\\0' y; echo; exit 3");
  auto result = std::make_shared<StartResult>();
  pool.StartDriver("job-7", kOneCpu,
                   {.argv = {driver}, .env = {"EXTRA=extra"}, .cwd = dir_ + "/cwd"},
                   result->Callback());
  ASSERT_TRUE(result->result().ok()) << result->result().status();
  EXPECT_TRUE(result->result()->driver());
  EXPECT_EQ(result->result()->worker_id(), "driver-job-7");
  ASSERT_TRUE(ReapUntilExits(1));
  EXPECT_EQ(Exits()[0].exit().exit_code(), 3);

  const std::string expected = absl::StrCat(dir_, "/cwd\njob job-7 at 127.0.0.1:1 extra\noops\n");
  const std::string path = pool.DriverOutputPath("job-7");
  ASSERT_TRUE(WaitFor([&] { return ReadAll(path).find("not kept") != std::string::npos; }));
  const std::string kept = ReadAll(path);
  EXPECT_EQ(kept.substr(0, expected.size()), expected);
  EXPECT_EQ(kept.substr(100), "\n[weft: the output past 100 bytes is not kept]\n");
  EXPECT_TRUE(Lines().empty()) << "a driver's line was published: " << Lines()[0].text();
}

}  // namespace
}  // namespace weft::node::testing
