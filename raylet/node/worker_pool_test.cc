// WorkerPool: admission, readiness, exits, kills, expiry and shutdown.

#include "raylet/node/worker_pool_test_fixture.h"

namespace weft::node::testing {
namespace {

TEST_F(WorkerPoolTest, StartBeforeOpenIsUnavailableAndSpawnsNothing) {
  MakePool(PoolOptions(SleeperScript()), /*open=*/false);
  auto started = Start();
  ASSERT_TRUE(started->done());
  EXPECT_EQ(started->result().status().code(), absl::StatusCode::kUnavailable)
      << started->result().status();
  EXPECT_TRUE(pool_->List().empty());
  EXPECT_EQ(pool_->Current().alive, 0);
  EXPECT_TRUE(NoChildren());
}

TEST_F(WorkerPoolTest, StartAfterCloseIsUnavailable) {
  MakePool(SleeperScript());
  pool_->Close();
  auto started = Start();
  ASSERT_TRUE(started->done());
  EXPECT_EQ(started->result().status().code(), absl::StatusCode::kUnavailable)
      << started->result().status();
  EXPECT_TRUE(pool_->List().empty());
  EXPECT_TRUE(NoChildren());
}

TEST_F(WorkerPoolTest, StartAskingMoreThanCapacityIsResourceExhaustedNamingTheResource) {
  MakePool(SleeperScript());
  auto started = Start({{"CPU", 2}});
  ASSERT_TRUE(started->done());
  const absl::Status status = started->result().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr("CPU"));
  EXPECT_EQ(pool_->Current().alive, 0);
  EXPECT_TRUE(NoChildren());
}

TEST_F(WorkerPoolTest, StartAskingAResourceTheNodeLacksIsResourceExhausted) {
  MakePool(SleeperScript());
  auto started = Start({{"GPU", 1}});
  ASSERT_TRUE(started->done());
  EXPECT_EQ(started->result().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(started->result().status().message(), HasSubstr("GPU"));
}

TEST_F(WorkerPoolTest, SecondStartIsRefusedWhileTheFirstHoldsTheResource) {
  MakePool(SleeperScript());
  auto first = Start();
  EXPECT_FALSE(first->done());
  const WorkerPool::Snapshot held = pool_->Current();
  EXPECT_EQ(held.alive, 1);
  EXPECT_DOUBLE_EQ(held.used.at("CPU"), 1.0);

  auto second = Start();
  ASSERT_TRUE(second->done());
  EXPECT_EQ(second->result().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(second->result().status().message(), HasSubstr("CPU"));
  EXPECT_EQ(pool_->Current().alive, 1);
}

TEST_F(WorkerPoolTest, ResourcesAreFreeAgainOnceTheHolderIsReaped) {
  MakePool(SleeperScript());
  auto holder = Start();
  const WorkerPool::Snapshot held = pool_->Current();
  ASSERT_EQ(held.alive, 1);
  ASSERT_TRUE(pool_->Kill(OnlyWorker().worker_id(), /*force=*/true).ok());
  ASSERT_TRUE(ReapUntilExits(1));

  const WorkerPool::Snapshot freed = pool_->Current();
  EXPECT_EQ(freed.alive, 0);
  EXPECT_DOUBLE_EQ(freed.used.count("CPU") ? freed.used.at("CPU") : 0.0, 0.0);
  EXPECT_GT(freed.version, held.version);
  auto next = Start();
  EXPECT_FALSE(next->done()) << next->result().status();
  EXPECT_EQ(pool_->Current().alive, 1);
}

TEST_F(WorkerPoolTest, ABlockedWorkerLendsItsCpuUntilItRunsAgain) {
  MakePool(SleeperScript());
  auto holder = Start();
  const std::string id = OnlyWorker().worker_id();
  const uint64_t before = pool_->Current().version;
  auto holds = pool_->SetBlocked(id, true);
  ASSERT_TRUE(holds.ok()) << holds.status();
  EXPECT_TRUE(*holds);
  EXPECT_DOUBLE_EQ(pool_->Current().used["CPU"], 0.0);
  EXPECT_GT(pool_->Current().version, before);  // the next heartbeat carries it

  auto borrower = Start();  // takes the lent CPU
  EXPECT_FALSE(borrower->done()) << borrower->result().status();
  ASSERT_TRUE(pool_->SetBlocked(id, false).ok());
  EXPECT_DOUBLE_EQ(pool_->Current().used["CPU"], 2.0);  // oversubscribed on resume, as Ray
  EXPECT_EQ(pool_->SetBlocked("no-such-worker", true).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WorkerPoolTest, StartWithAMissingBinaryFailsAndHoldsNothing) {
  MakePool(dir_ + "/no-such-worker");
  auto started = Start();
  ASSERT_TRUE(WaitFor([&] {
    pool_->Reap();
    return started->done();
  }));
  EXPECT_FALSE(started->result().ok());
  EXPECT_EQ(pool_->Current().alive, 0);
  EXPECT_TRUE(pool_->Current().used.empty() || pool_->Current().used.at("CPU") == 0);
}

// --- Exits and registration ------------------------------------------------------------------

TEST_F(WorkerPoolTest, WorkerExitingBeforeRegisteringFailsItsStartWithTheExitCode) {
  MakePool(ExitsThreeScript());
  auto started = Start();
  ASSERT_TRUE(WaitFor([&] {
    pool_->Reap();
    return started->done();
  }));
  const absl::Status status = started->result().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("exited before it was ready"));
  EXPECT_THAT(status.message(), HasSubstr("exit code 3"));
  pool_->Reap();
  EXPECT_EQ(started->calls(), 1);
}

TEST_F(WorkerPoolTest, WorkerExitIsReportedToTheExitCallbackAndList) {
  MakePool(ExitsThreeScript());
  Start();
  const std::string id = OnlyWorker().worker_id();
  ASSERT_TRUE(ReapUntilExits(1));

  const proto::WorkerInfo exit = Exits()[0];
  EXPECT_EQ(exit.worker_id(), id);
  EXPECT_EQ(exit.state(), proto::WORKER_EXITED);
  EXPECT_EQ(exit.exit().exit_code(), 3);
  EXPECT_EQ(exit.exit().signal(), 0);
  const proto::WorkerInfo listed = OnlyWorker();
  EXPECT_EQ(listed.worker_id(), id);
  EXPECT_EQ(listed.state(), proto::WORKER_EXITED);
  EXPECT_EQ(listed.exit().exit_code(), 3);
}

TEST_F(WorkerPoolTest, ListShowsLiveWorkersFirstThenOnlyTheMostRecentExits) {
  WorkerPool::Options options = PoolOptions(SleeperScript());
  options.capacity = {{"CPU", 10}};
  options.exited_kept = 2;
  MakePool(options);
  for (size_t i = 1; i <= 3; ++i) {
    Start();
    const auto listed = pool_->List();  // the live worker comes first
    ASSERT_FALSE(listed.empty());
    ASSERT_TRUE(pool_->Kill(listed[0].worker_id(), /*force=*/true).ok());
    ASSERT_TRUE(ReapUntilExits(i));
  }
  Start();
  const auto exits = Exits();
  const auto listed = pool_->List();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].state(), proto::WORKER_STARTING);
  EXPECT_EQ(listed[1].worker_id(), exits[2].worker_id());  // most recent exit first
  EXPECT_EQ(listed[2].worker_id(), exits[1].worker_id());
  EXPECT_EQ(listed[2].state(), proto::WORKER_EXITED);
}

TEST_F(WorkerPoolTest, OnRegisteredWithTheRightPidAnswersTheStartWithAnAliveWorker) {
  MakePool(RecorderScript());
  auto started = Start();
  const proto::WorkerInfo starting = OnlyWorker();
  EXPECT_EQ(starting.state(), proto::WORKER_STARTING);
  ASSERT_TRUE(WaitFor([&] { return Exists(ArgvFile(starting.pid())); }));  // pid is the worker's
  EXPECT_THAT(ReadAll(ArgvFile(starting.pid())), HasSubstr(starting.worker_id()));

  ASSERT_TRUE(pool_->OnRegistered(starting.worker_id(), "127.0.0.1:5555", starting.pid()).ok());
  ASSERT_EQ(started->calls(), 1);
  const absl::StatusOr<proto::WorkerInfo> result = started->result();
  ASSERT_TRUE(result.ok()) << result.status();
  const proto::WorkerInfo& alive = *result;
  EXPECT_EQ(alive.state(), proto::WORKER_ALIVE);
  EXPECT_EQ(alive.address(), "127.0.0.1:5555");
  EXPECT_EQ(alive.worker_id(), starting.worker_id());
  EXPECT_EQ(alive.pid(), starting.pid());
  EXPECT_EQ(alive.node_id(), "node-under-test");
  EXPECT_EQ(alive.job_id(), "job-1");
  EXPECT_EQ(OnlyWorker().state(), proto::WORKER_ALIVE);
}

TEST_F(WorkerPoolTest, OnRegisteredWithAWrongPidIsInvalidArgumentAndLeavesTheStartPending) {
  MakePool(SleeperScript());
  auto started = Start();
  const proto::WorkerInfo worker = OnlyWorker();
  const absl::Status status =
      pool_->OnRegistered(worker.worker_id(), "127.0.0.1:5555", worker.pid() + 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(started->done());
  EXPECT_EQ(OnlyWorker().state(), proto::WORKER_STARTING);
}

TEST_F(WorkerPoolTest, OnRegisteredForAnUnknownWorkerIsNotFound) {
  MakePool(SleeperScript());
  auto started = Start();
  const absl::Status status = pool_->OnRegistered("0123456789abcdef", "127.0.0.1:5555", 1234);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_FALSE(started->done());
}

// --- Kill, expiry, shutdown ------------------------------------------------------------------

TEST_F(WorkerPoolTest, ForceKillEndsALiveWorkerWithSigkill) {
  MakePool(SleeperScript());
  auto started = Start();
  const proto::WorkerInfo worker = OnlyWorker();
  ASSERT_TRUE(pool_->OnRegistered(worker.worker_id(), "127.0.0.1:5555", worker.pid()).ok());
  ASSERT_TRUE(pool_->Kill(worker.worker_id(), /*force=*/true).ok());
  ASSERT_TRUE(ReapUntilExits(1));
  EXPECT_EQ(Exits()[0].worker_id(), worker.worker_id());
  EXPECT_EQ(Exits()[0].exit().signal(), SIGKILL);
  EXPECT_EQ(started->calls(), 1);  // answered at registration, not again at exit
  EXPECT_FALSE(ProcessAlive(worker.pid()));
}

TEST_F(WorkerPoolTest, KillWithoutForceSendsSigterm) {
  MakePool(SleeperScript());
  Start();
  ASSERT_TRUE(pool_->Kill(OnlyWorker().worker_id(), /*force=*/false).ok());
  ASSERT_TRUE(ReapUntilExits(1));
  EXPECT_EQ(Exits()[0].exit().signal(), SIGTERM);
}

TEST_F(WorkerPoolTest, KillOfAnUnknownWorkerIsNotFound) {
  MakePool(SleeperScript());
  EXPECT_EQ(pool_->Kill("0123456789abcdef", true).code(), absl::StatusCode::kNotFound);
}

TEST_F(WorkerPoolTest, KillOfAnExitedWorkerIsNotFound) {
  MakePool(ExitsThreeScript());
  Start();
  const std::string id = OnlyWorker().worker_id();
  ASSERT_TRUE(ReapUntilExits(1));
  EXPECT_EQ(pool_->Kill(id, true).code(), absl::StatusCode::kNotFound);
}

TEST_F(WorkerPoolTest, ExpireStartsFailsAnOverdueStartAndKillsItsProcess) {
  WorkerPool::Options options = PoolOptions(SleeperScript());
  options.start_timeout = absl::Milliseconds(50);
  MakePool(options);
  const absl::Time before = absl::Now();
  auto started = Start();
  const pid_t pid = OnlyWorker().pid();
  ASSERT_TRUE(WaitFor([&] {
    pool_->ExpireStarts();
    return started->done();
  }));
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(50));
  EXPECT_EQ(started->result().status().code(), absl::StatusCode::kDeadlineExceeded)
      << started->result().status();

  ASSERT_TRUE(ReapUntilExits(1));
  EXPECT_EQ(Exits()[0].pid(), pid);
  EXPECT_EQ(Exits()[0].exit().signal(), SIGKILL);
  EXPECT_EQ(started->calls(), 1);  // the exit does not answer the start a second time
}

TEST_F(WorkerPoolTest, ARegistrationAfterTheStartExpiredIsRefused) {
  WorkerPool::Options options = PoolOptions(SleeperScript());
  options.start_timeout = absl::Milliseconds(50);
  MakePool(options);
  auto started = Start();
  const proto::WorkerInfo worker = OnlyWorker();
  ASSERT_TRUE(WaitFor([&] {
    pool_->ExpireStarts();
    return started->done();
  }));
  // The late worker's registration must not make a killed worker look alive.
  const auto late = pool_->OnRegistered(worker.worker_id(), "127.0.0.1:1", worker.pid());
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition) << late;
  for (const auto& w : pool_->List()) EXPECT_NE(w.state(), proto::WORKER_ALIVE);
  EXPECT_EQ(started->calls(), 1);
}

TEST_F(WorkerPoolTest, ExpireStartsLeavesStartsWithinTheirTimeout) {
  MakePool(SleeperScript());  // start_timeout 30 s
  auto started = Start();
  pool_->ExpireStarts();
  EXPECT_FALSE(started->done());
  EXPECT_TRUE(NoExitsDuringQuietWindow());
}

TEST_F(WorkerPoolTest, ExpireStartsLeavesRegisteredWorkersAlone) {
  WorkerPool::Options options = PoolOptions(SleeperScript());
  options.start_timeout = absl::Milliseconds(50);
  MakePool(options);
  auto started = Start();
  const absl::Time after_start = absl::Now();
  const proto::WorkerInfo worker = OnlyWorker();
  ASSERT_TRUE(pool_->OnRegistered(worker.worker_id(), "127.0.0.1:5555", worker.pid()).ok());
  ASSERT_TRUE(WaitFor([&] { return absl::Now() - after_start > options.start_timeout; }));
  pool_->ExpireStarts();
  EXPECT_EQ(started->calls(), 1);
  ASSERT_TRUE(started->result().ok());
  EXPECT_TRUE(NoExitsDuringQuietWindow());
  EXPECT_TRUE(ProcessAlive(worker.pid()));
}

TEST_F(WorkerPoolTest, TerminateAllKillsAWorkerThatIgnoresSigtermOnceTheGraceIsOver) {
  // The first worker to run ignores SIGTERM; the other dies of it.
  WorkerPool::Options options = PoolOptions(Script(
      "stubborn.sh",
      "if mkdir \"$D/claim\" 2>/dev/null; then trap '' TERM; kind=stubborn; else kind=plain; fi\n"
      "echo $kind > \"$D/$$.tmp\" && mv \"$D/$$.tmp\" \"$D/$$.ready\"\n"
      "exec sleep 30"));
  options.capacity = {{"CPU", 2}};
  MakePool(options);
  Start();
  Start();
  std::map<std::string, pid_t> by_kind;
  for (const auto& worker : pool_->List()) {
    const std::string ready = absl::StrCat(dir_, "/", worker.pid(), ".ready");
    ASSERT_TRUE(WaitFor([&] { return Exists(ready); }));
    by_kind[std::string(absl::StripAsciiWhitespace(ReadAll(ready)))] = worker.pid();
  }
  ASSERT_EQ(by_kind.size(), 2u);

  const absl::Duration grace = absl::Milliseconds(300);
  const absl::Time before = absl::Now();
  pool_->TerminateAll(grace);
  EXPECT_GE(absl::Now() - before, grace);
  EXPECT_EQ(pool_->Current().alive, 0);
  std::map<pid_t, int> signal_of;
  for (const auto& exit : Exits()) signal_of[exit.pid()] = exit.exit().signal();
  EXPECT_EQ(signal_of[by_kind["stubborn"]], SIGKILL);
  EXPECT_EQ(signal_of[by_kind["plain"]], SIGTERM);
  EXPECT_FALSE(ProcessAlive(by_kind["stubborn"]));
  EXPECT_FALSE(ProcessAlive(by_kind["plain"]));
}

// --- What a worker is given ------------------------------------------------------------------

}  // namespace
}  // namespace weft::node::testing
