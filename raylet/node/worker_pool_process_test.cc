// WorkerPool: what a worker process is given (argv, env, logs, lifeline) and how it
// outlives threads but not its owner.

#include "raylet/node/worker_pool_test_fixture.h"

namespace weft::node::testing {
namespace {

TEST_F(WorkerPoolTest, WorkerArgvCarriesItsIdsTheNodeAddressAndLifelineFd3) {
  MakePool(RecorderScript());
  Start();
  const proto::WorkerInfo worker = OnlyWorker();
  ASSERT_TRUE(WaitFor([&] { return Exists(ArgvFile(worker.pid())); }));
  const std::vector<std::string> argv =
      absl::StrSplit(ReadAll(ArgvFile(worker.pid())), '\n', absl::SkipEmpty());
  auto flag = [&](const std::string& name) -> std::string {
    auto it = std::find(argv.begin(), argv.end(), name);
    return it == argv.end() || it + 1 == argv.end() ? "<missing>" : *(it + 1);
  };
  EXPECT_EQ(flag("--lifeline-fd"), "3");
  EXPECT_EQ(flag("--node-address"), kNodeAddress);
  EXPECT_EQ(flag("--worker-id"), worker.worker_id());
  EXPECT_EQ(flag("--node-id"), "node-under-test");
  EXPECT_EQ(flag("--host"), "127.0.0.1");
}

TEST_F(WorkerPoolTest, WorkerEnvironmentCarriesTheToken) {
  MakePool(RecorderScript());
  Start();
  const pid_t pid = OnlyWorker().pid();
  ASSERT_TRUE(WaitFor([&] { return Exists(ArgvFile(pid)); }));
  EXPECT_EQ(ReadAll(absl::StrCat(dir_, "/", pid, ".token")), "secret-token-42\n");
}

TEST_F(WorkerPoolTest, WorkerOutputGoesToPerWorkerLogFiles) {
  MakePool(RecorderScript());
  Start();
  const proto::WorkerInfo worker = OnlyWorker();
  ASSERT_TRUE(WaitFor([&] { return Exists(ArgvFile(worker.pid())); }));
  const std::string base = absl::StrCat(logs_, "/worker-", worker.worker_id());
  EXPECT_EQ(worker.stdout_path(), base + ".out");
  EXPECT_EQ(worker.stderr_path(), base + ".err");
  EXPECT_EQ(ReadAll(base + ".out"), absl::StrCat("to stdout from ", worker.pid(), "\n"));
  EXPECT_EQ(ReadAll(base + ".err"), absl::StrCat("to stderr from ", worker.pid(), "\n"));
}

TEST_F(WorkerPoolTest, WorkerStartedFromAShortLivedThreadOutlivesTheThread) {
  MakePool(RecorderScript());
  std::shared_ptr<StartResult> started;
  bool ran = false;
  // The thread outlives the worker's set-up (up to its exec), so a death signal tied to the
  // spawning thread would be armed by the time the thread exits.
  std::thread([&] {
    started = Start();
    ran = WaitFor([&] { return Exists(ArgvFile(OnlyWorker().pid())); });
  }).join();
  ASSERT_TRUE(ran);
  const proto::WorkerInfo worker = OnlyWorker();
  EXPECT_TRUE(NoExitsDuringQuietWindow());
  EXPECT_TRUE(ProcessAlive(worker.pid()));
  EXPECT_FALSE(started->done());
}

// --- The lifeline ----------------------------------------------------------------------------

// In a fresh test process the pool's pipe is usually fds 3 and 4, so the worker's fd 3 is a
// dup2(3, 3) that must still drop close-on-exec; the next test moves the pipe elsewhere.
TEST_F(WorkerPoolTest, LifelineStaysOpenWhileThePoolLives) {
  MakePool(LifelineScript());
  Start();
  const pid_t pid = OnlyWorker().pid();
  ASSERT_TRUE(WaitFor([&] { return Exists(LifelinePidFile()); }));
  EXPECT_THAT(Fd3Target(pid), HasSubstr("pipe:"));
  EXPECT_TRUE(NoExitsDuringQuietWindow());
  EXPECT_FALSE(Exists(LifelineClosedFile()));
}

TEST_F(WorkerPoolTest, LifelineReachesFd3WhenThePoolsPipeHasOtherNumbers) {
  std::vector<int> taken;  // occupy fds 3.. so that the pool's pipe lands above them
  for (int i = 0; i < 4; ++i) taken.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  MakePool(LifelineScript());
  for (int fd : taken) close(fd);
  Start();
  const pid_t pid = OnlyWorker().pid();
  ASSERT_TRUE(WaitFor([&] { return Exists(LifelinePidFile()); }));
  EXPECT_THAT(Fd3Target(pid), HasSubstr("pipe:"));
  EXPECT_TRUE(NoExitsDuringQuietWindow());
  EXPECT_FALSE(Exists(LifelineClosedFile()));
}

TEST_F(WorkerPoolTest, WorkersReadLifelineEofOnceThePoolIsGoneEvenWithOtherWorkersAlive) {
  WorkerPool::Options options = PoolOptions(LifelineScript());
  options.capacity = {{"CPU", 2}};
  MakePool(options);
  Start();
  Start();  // an idle worker: it must not hold the lifeline's write end
  for (const auto& worker : pool_->List()) strays_.push_back(worker.pid());
  ASSERT_TRUE(WaitFor([&] { return Exists(LifelinePidFile()); }));
  ASSERT_FALSE(Exists(LifelineClosedFile()));
  pool_.reset();  // closes the write end; the workers stay, reaped by TearDown
  ASSERT_TRUE(WaitFor([&] { return Exists(LifelineClosedFile()); }));
  EXPECT_EQ(ReadAll(LifelineClosedFile()), "lifeline-closed\n");
}

TEST_F(WorkerPoolTest, WorkersReadLifelineEofWhenThePoolsProcessDies) {
  const std::string script = LifelineScript();
  const std::string pid_file = LifelinePidFile(), closed_file = LifelineClosedFile();
  const pid_t owner = fork();
  ASSERT_NE(owner, -1);
  if (owner == 0) {  // the "raylet": starts a worker, then dies without any cleanup
    WorkerPool pool(PoolOptions(script), [](const proto::WorkerInfo&) {});
    pool.Open(kNodeAddress, "127.0.0.1:1");
    bool refused = false;
    pool.Start("job-1", "", kOneCpu, [&](absl::StatusOr<proto::WorkerInfo>) { refused = true; });
    _exit(!refused && WaitFor([&] { return Exists(pid_file); }) ? 0 : 1);
  }
  const std::optional<int> owner_status = WaitChild(owner, 2 * kWait);
  if (!owner_status) strays_.push_back(owner);
  ASSERT_TRUE(owner_status && WIFEXITED(*owner_status) && WEXITSTATUS(*owner_status) == 0);

  // The worker is now an orphan (not our child): it ends itself once it reads EOF.
  const pid_t worker = std::stoi(ReadAll(pid_file));
  const bool closed = WaitFor([&] { return Exists(closed_file); });
  if (!closed && ProcessCommandLine(worker).find(script) != std::string::npos) {
    kill(worker, SIGKILL);
  }
  ASSERT_TRUE(closed) << "worker pid " << worker << " did not see its lifeline close";
  EXPECT_EQ(ReadAll(closed_file), "lifeline-closed\n");
}

}  // namespace
}  // namespace weft::node::testing
