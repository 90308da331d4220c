// `weft job submit/list/status/logs/stop` (issue 18) on a real two-node cluster: drivers sent
// to the cluster and run by a node, followed from the CLI while they run and after they end.

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/ascii.h"
#include "common/process.h"
#include "head.pb.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kJobTimeout = std::chrono::seconds(90);

class JobSubmitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(2);
    ASSERT_FALSE(cluster_->JoinNode({"--num-cpus", "2"}).empty());
  }

  // `weft job <sub> --session-dir <head's> <args...>`.
  CommandResult Job(const std::string& sub, std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    args.insert(args.begin(), {"job", sub, "--session-dir", cluster_->head_session()});
    return Weft(std::move(args), timeout);
  }

  // Submits with --no-wait; returns the job's id.
  std::string SubmitNoWait(std::vector<std::string> flags, std::vector<std::string> argv) {
    flags.push_back("--no-wait");
    flags.push_back("--");
    flags.insert(flags.end(), argv.begin(), argv.end());
    const auto submitted = Job("submit", flags);
    EXPECT_EQ(submitted.exit_code, 0) << submitted.err;
    return std::string(absl::StripAsciiWhitespace(submitted.out));
  }

  proto::JobInfo Status(const std::string& job_id) {
    const auto status = Job("status", {job_id, "--format", "json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    proto::JobInfo job;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(status.out, &job).ok()) << status.out;
    return job;
  }

  bool WaitForState(const std::string& job_id, proto::JobState state) {
    return WaitFor([&] { return Status(job_id).state() == state; }, kJobTimeout);
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(JobSubmitTest, ASeedExampleRunsToSucceededWithItsOutput) {
  const auto run = Job("submit", {"--", BinPath("async_actor")}, kJobTimeout);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::regex ran("\\(AsyncActor pid=[0-9]+\\) All coroutines ran concurrently\\.");
  EXPECT_EQ(std::distance(std::sregex_iterator(run.out.begin(), run.out.end(), ran),
                          std::sregex_iterator()),
            4)
      << run.out;
  EXPECT_THAT(run.err, HasSubstr("SUCCEEDED"));

  const std::smatch id = [&] {
    std::smatch m;
    std::regex_search(run.err, m, std::regex("job (job-[0-9]+) submitted"));
    return m;
  }();
  ASSERT_FALSE(id.empty()) << run.err;
  const auto job = Status(id[1]);
  EXPECT_EQ(job.state(), proto::JOB_SUCCEEDED);
  EXPECT_EQ(job.exit_code(), 0);
  EXPECT_FALSE(job.driver_node_id().empty());
  EXPECT_THAT(job.entrypoint(), HasSubstr("async_actor"));
  const auto listed = Job("list", {});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, ::testing::ContainsRegex(std::string(id[1]) + " +SUCCEEDED"));
}

TEST_F(JobSubmitTest, NoWaitReturnsTheIdAndStatusAndLogsFollowItFromAnotherShell) {
  const std::string job_id = SubmitNoWait({}, {BinPath("job_driver"), "exit", "0"});
  ASSERT_THAT(job_id, ::testing::MatchesRegex("job-[0-9]+"));
  const auto followed = Job("logs", {job_id, "--follow"}, kJobTimeout);
  ASSERT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_THAT(followed.out, HasSubstr("exiting 0"));
  EXPECT_THAT(followed.err, HasSubstr("SUCCEEDED"));
  // After the end: the output is kept, the status says how it ended.
  EXPECT_THAT(Job("logs", {job_id}).out, HasSubstr("exiting 0"));
  const auto status = Job("status", {job_id});
  EXPECT_THAT(status.out, HasSubstr("SUCCEEDED"));
  EXPECT_THAT(status.out, HasSubstr("exit code:  0"));
}

TEST_F(JobSubmitTest, ADriverThatExits3IsFailedWithExitCode3AndSubmitExits3) {
  const auto run = Job("submit", {"--", BinPath("job_driver"), "exit", "3"}, kJobTimeout);
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("exiting 3"));
  EXPECT_THAT(run.err, HasSubstr("FAILED: its driver exited with code 3"));
  const auto listed = Job("list", {"--format", "json"});
  proto::ListJobsReply jobs;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(listed.out, &jobs).ok()) << listed.out;
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_EQ(jobs.jobs(0).state(), proto::JOB_FAILED);
  EXPECT_EQ(jobs.jobs(0).exit_code(), 3);
}

TEST_F(JobSubmitTest, StopEndsTheDriverAndItsActorsAndReturnsTheirResources) {
  const double total = cluster_->TotalCpus();
  const std::string job_id =
      SubmitNoWait({"--num-cpus", "1"}, {BinPath("job_driver"), "serve", "-"});
  int actor_pid = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::smatch m;
        const std::string out = Job("logs", {job_id}).out;
        if (!std::regex_search(out, m, std::regex("actor pid ([0-9]+)"))) return false;
        actor_pid = std::stoi(m[1]);
        return true;
      },
      kJobTimeout));
  EXPECT_EQ(Status(job_id).state(), proto::JOB_RUNNING);
  EXPECT_TRUE(WaitFor([&] { return cluster_->FreeCpus() == total - 2; }))
      << "the driver and its actor hold a CPU each; free: " << cluster_->FreeCpus();

  const auto stopped = Job("stop", {job_id});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr(job_id + " STOPPED"));
  EXPECT_TRUE(WaitFor([&] { return kill(actor_pid, 0) != 0; }, std::chrono::seconds(30)))
      << "the job's actor outlived its job";
  EXPECT_TRUE(WaitFor([&] { return cluster_->FreeCpus() == total; }, std::chrono::seconds(30)))
      << "free: " << cluster_->FreeCpus() << " of " << total;
  EXPECT_EQ(Status(job_id).state(), proto::JOB_STOPPED);
  const auto again = Job("stop", {job_id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("has ended"));
}

TEST_F(JobSubmitTest, ADriverThatIgnoresTheStopIsKilledAfterTheGrace) {
  const std::string job_id = SubmitNoWait({}, {BinPath("job_driver"), "stubborn", "-"});
  ASSERT_TRUE(WaitFor(
      [&] { return Job("logs", {job_id}).out.find("ignoring SIGTERM") != std::string::npos; },
      kJobTimeout));
  const auto stopped = Job("stop", {job_id});  // waits for the end: SIGKILL after 10 s
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.out, HasSubstr(job_id + " STOPPED"));
  EXPECT_EQ(Status(job_id).exit_signal(), SIGKILL);
}

// A node that dies however it dies (SIGKILL here) takes its driver along, as it takes its
// workers: the head fails the job ("its node died"), so a driver left running would go on
// unwatched, and no `weft job stop` could reach it any more.
TEST_F(JobSubmitTest, ADriverEndsWhenItsNodeIsKilled) {
  const std::string away = cluster_->JoinNode({"--num-cpus", "1", "--resources", R"({"away": 1})"});
  ASSERT_FALSE(away.empty());
  const std::string job_id =
      SubmitNoWait({"--resources", R"({"away": 1})"}, {BinPath("job_driver"), "serve", "-"});
  int driver_pid = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto logs = Job("logs", {job_id});
        std::smatch m;
        if (!std::regex_search(logs.out, m, std::regex("driver pid ([0-9]+)"))) return false;
        driver_pid = std::stoi(m[1]);
        return true;
      },
      kJobTimeout))
      << "the driver never ran: " << Job("status", {job_id}).out << Job("logs", {job_id}).out;
  ASSERT_TRUE(ProcessAlive(driver_pid));
  const std::vector<pid_t> raylets = RayletPids(away);
  ASSERT_EQ(raylets.size(), 1u);
  ASSERT_EQ(kill(raylets[0], SIGKILL), 0);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(driver_pid); }, std::chrono::seconds(10)))
      << "driver " << driver_pid << " runs on after its node was killed";
  if (ProcessAlive(driver_pid)) kill(driver_pid, SIGKILL);  // nobody else would
}

TEST_F(JobSubmitTest, TheWorkingDirectoryAndEnvironmentTravelWithTheDriver) {
  TempDir dir;
  std::filesystem::create_directories(dir.Sub("data"));
  std::ofstream(dir.Sub("data/greeting.txt")) << "hello from the submitter's folder";
  const auto cat =
      Job("submit",
          {"--working-dir", dir.path(), "--", BinPath("job_driver"), "cat", "data/greeting.txt"},
          kJobTimeout);
  EXPECT_EQ(cat.exit_code, 0) << cat.out << cat.err;
  EXPECT_THAT(cat.out, HasSubstr("hello from the submitter's folder"));

  const auto env =
      Job("submit", {"--env", "GREETING=hi there", "--", BinPath("job_driver"), "env", "GREETING"},
          kJobTimeout);
  EXPECT_EQ(env.exit_code, 0) << env.out << env.err;
  EXPECT_THAT(env.out, HasSubstr("hi there"));
}

TEST_F(JobSubmitTest, BadSubmissionsFailBeforeAnythingRuns) {
  const auto missing = Job("submit", {"--", "/no/such/program"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("entrypoint /no/such/program not found"));

  TempDir dir;
  const std::string script = dir.Sub("run.sh");
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  chmod(script.c_str(), 0755);
  const auto not_elf = Job("submit", {"--", script});
  EXPECT_EQ(not_elf.exit_code, 1);
  EXPECT_THAT(not_elf.err, HasSubstr("is not a compiled (ELF) program"));

  const auto too_big =
      Job("submit", {"--resources", R"({"GPU": 4})", "--", BinPath("job_driver"), "exit", "0"});
  EXPECT_EQ(too_big.exit_code, 1);
  EXPECT_THAT(too_big.err, HasSubstr("no node can run the job's driver"));

  EXPECT_THAT(Job("list", {}).out, Not(HasSubstr("job-"))) << "no job was made";
  const auto unknown = Job("stop", {"job-9999"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("job job-9999 not found"));
}

}  // namespace
}  // namespace weft::testing
