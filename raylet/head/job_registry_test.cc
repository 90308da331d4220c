#include "raylet/head/job_registry.h"

#include <gtest/gtest.h>

namespace weft::head {
namespace {

proto::RegisterJobRequest Request(int pid, const std::string& entrypoint) {
  proto::RegisterJobRequest request;
  request.set_driver_host("host-a");
  request.set_driver_pid(pid);
  request.set_entrypoint(entrypoint);
  return request;
}

TEST(JobRegistryTest, JobsGetSequentialIdsInStartOrder) {
  JobRegistry jobs;
  EXPECT_EQ(jobs.Register(Request(1, "a"))->job_id(), "job-0001");
  EXPECT_EQ(jobs.Register(Request(2, "b"))->job_id(), "job-0002");
}

TEST(JobRegistryTest, RegisteredJobIsRunningAndKeepsDriverDetails) {
  JobRegistry jobs;
  const proto::JobInfo job = *jobs.Register(Request(42, "./train --epochs 3"));
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);
  EXPECT_EQ(job.driver_host(), "host-a");
  EXPECT_EQ(job.driver_pid(), 42);
  EXPECT_EQ(job.entrypoint(), "./train --epochs 3");
  EXPECT_GT(job.start_unix_ms(), 0);
}

TEST(JobRegistryTest, FinishMarksOnlyThatJobFinished) {
  JobRegistry jobs;
  const std::string first = jobs.Register(Request(1, "a"))->job_id();
  ASSERT_TRUE(jobs.Register(Request(2, "b")).ok());
  ASSERT_TRUE(jobs.Finish(first).ok());
  const auto list = jobs.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].state(), proto::JOB_FINISHED);
  EXPECT_GE(list[0].end_unix_ms(), list[0].start_unix_ms());
  EXPECT_EQ(list[1].state(), proto::JOB_RUNNING);
}

TEST(JobRegistryTest, FinishingTwiceIsFine) {
  JobRegistry jobs;
  const std::string id = jobs.Register(Request(1, "a"))->job_id();
  ASSERT_TRUE(jobs.Finish(id).ok());
  EXPECT_TRUE(jobs.Finish(id).ok());
  EXPECT_EQ(jobs.List()[0].state(), proto::JOB_FINISHED);
}

TEST(JobRegistryTest, FinishUnknownJobIsNotFound) {
  JobRegistry jobs;
  EXPECT_EQ(jobs.Finish("job-0009").code(), absl::StatusCode::kNotFound);
}

TEST(JobRegistryTest, FailIfRunningNamesTheDriverOnce) {
  JobRegistry jobs;
  const std::string id = jobs.Register(Request(42, "a"))->job_id();
  const auto reason = jobs.FailIfRunning(id);
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason,
            "owner died: driver of job " + id + " (pid 42 on host host-a) exited without Shutdown");
  EXPECT_EQ(jobs.List()[0].state(), proto::JOB_FAILED);
  EXPECT_EQ(jobs.List()[0].end_reason(), *reason);
  EXPECT_FALSE(jobs.FailIfRunning(id).has_value());
}

TEST(JobRegistryTest, FinishedJobDoesNotFail) {
  JobRegistry jobs;
  const std::string id = jobs.Register(Request(1, "a"))->job_id();
  ASSERT_TRUE(jobs.Finish(id).ok());
  EXPECT_FALSE(jobs.FailIfRunning(id).has_value());
  EXPECT_FALSE(jobs.FailIfRunning("job-0009").has_value());
  EXPECT_EQ(jobs.List()[0].state(), proto::JOB_FINISHED);
}

proto::JobSubmission Submission(std::vector<std::string> argv) {
  proto::JobSubmission submission;
  submission.mutable_argv()->Assign(argv.begin(), argv.end());
  submission.set_submitter_host("laptop");
  return submission;
}

proto::WorkerExit Exit(int code, int signal = 0, const std::string& message = "") {
  proto::WorkerExit exit;
  exit.set_exit_code(code);
  exit.set_signal(signal);
  exit.set_message(message);
  return exit;
}

TEST(JobRegistryTest, ASubmittedJobIsPendingThenRunningAndItsDriverTakesItUp) {
  JobRegistry jobs;
  const auto job = *jobs.Submit(Submission({"train", "--epochs", "3"}));
  EXPECT_EQ(job.job_id(), "job-0001");
  EXPECT_EQ(job.state(), proto::JOB_PENDING);
  EXPECT_EQ(job.entrypoint(), "train --epochs 3");
  EXPECT_FALSE(JobEnded(job.state()));

  ASSERT_TRUE(jobs.DriverStarted(job.job_id(), "node-a", 77).ok());
  auto request = Request(77, "/node/jobs/job-0001/bin/train");
  request.set_job_id(job.job_id());
  const auto taken = *jobs.Register(request);
  EXPECT_EQ(taken.job_id(), job.job_id()) << "no second job for a submitted driver";
  EXPECT_EQ(taken.state(), proto::JOB_RUNNING);
  EXPECT_EQ(taken.entrypoint(), "train --epochs 3");
  EXPECT_EQ(taken.driver_node_id(), "node-a");
  EXPECT_EQ(jobs.List().size(), 1u);
  // A driver run by hand cannot take up a job that was not submitted, nor an unknown one.
  const std::string by_hand = jobs.Register(Request(5, "x"))->job_id();
  request.set_job_id(by_hand);
  EXPECT_EQ(jobs.Register(request).status().code(), absl::StatusCode::kFailedPrecondition);
  request.set_job_id("job-0099");
  EXPECT_EQ(jobs.Register(request).status().code(), absl::StatusCode::kNotFound);
}

TEST(JobRegistryTest, HowTheDriverEndedSetsTheSubmittedJobsState) {
  JobRegistry jobs;
  const auto ended = [&](const proto::WorkerExit& exit) {
    const std::string id = jobs.Submit(Submission({"prog"}))->job_id();
    EXPECT_TRUE(jobs.DriverStarted(id, "node-a", 1).ok());
    return jobs.DriverEnded(id, exit);
  };
  const auto zero = ended(Exit(0));
  ASSERT_TRUE(zero.has_value());
  EXPECT_TRUE(zero->was_running);
  EXPECT_EQ(zero->job.state(), proto::JOB_SUCCEEDED);
  EXPECT_GT(zero->job.end_unix_ms(), 0);

  const auto three = ended(Exit(3, 0, "error: no data"));
  EXPECT_EQ(three->job.state(), proto::JOB_FAILED);
  EXPECT_EQ(three->job.exit_code(), 3);
  EXPECT_EQ(three->job.end_reason(), "its driver exited with code 3: error: no data");

  const auto killed = ended(Exit(0, 9));
  EXPECT_EQ(killed->job.state(), proto::JOB_FAILED);
  EXPECT_EQ(killed->job.exit_signal(), 9);
  EXPECT_EQ(killed->job.end_reason(), "its driver was killed by signal 9 (SIGKILL)");

  const auto never = ended(Exit(-1, 0, "could not start its driver: no such file"));
  EXPECT_EQ(never->job.state(), proto::JOB_FAILED);
  EXPECT_EQ(never->job.end_reason(), "could not start its driver: no such file");
  // A driver ends once: a second report changes nothing.
  EXPECT_FALSE(jobs.DriverEnded(three->job.job_id(), Exit(0)).has_value());
  EXPECT_EQ(jobs.Get(three->job.job_id())->state(), proto::JOB_FAILED);
}

TEST(JobRegistryTest, TheDriversExitDecidesOverItsShutdownAndItsKeepalive) {
  JobRegistry jobs;
  const std::string finished = jobs.Submit(Submission({"prog"}))->job_id();
  ASSERT_TRUE(jobs.DriverStarted(finished, "node-a", 1).ok());
  ASSERT_TRUE(jobs.Finish(finished).ok());  // weft::Shutdown, then the process exits
  const auto succeeded = jobs.DriverEnded(finished, Exit(0));
  ASSERT_TRUE(succeeded.has_value());
  EXPECT_FALSE(succeeded->was_running) << "Shutdown ended its actors already";
  EXPECT_EQ(succeeded->job.state(), proto::JOB_SUCCEEDED);

  const std::string crashed = jobs.Submit(Submission({"prog"}))->job_id();
  ASSERT_TRUE(jobs.DriverStarted(crashed, "node-a", 2).ok());
  ASSERT_TRUE(jobs.FailIfRunning(crashed).has_value());  // its KeepJob stream broke first
  EXPECT_FALSE(DriverEndKnown(*jobs.Get(crashed))) << "`weft job submit` waits for the exit";
  const auto failed = jobs.DriverEnded(crashed, Exit(0, 11));
  ASSERT_TRUE(failed.has_value());
  EXPECT_TRUE(DriverEndKnown(failed->job));
  EXPECT_EQ(failed->job.state(), proto::JOB_FAILED);
  EXPECT_EQ(failed->job.exit_signal(), 11);
}

TEST(JobRegistryTest, ADriverThatEndedBeforeTheNewsOfItsStartKeepsHowItEnded) {
  JobRegistry jobs;
  const std::string quick = jobs.Submit(Submission({"prog"}))->job_id();
  ASSERT_TRUE(jobs.DriverEnded(quick, Exit(0), "node-a").has_value());  // its exit came first
  const auto started = jobs.DriverStarted(quick, "node-a", 7);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->state(), proto::JOB_SUCCEEDED);
  EXPECT_EQ(started->driver_node_id(), "node-a");

  const std::string shut = jobs.Submit(Submission({"prog"}))->job_id();
  auto request = Request(8, "prog");
  request.set_job_id(shut);
  ASSERT_TRUE(jobs.Register(request).ok());
  ASSERT_TRUE(jobs.Finish(shut).ok());  // weft::Shutdown before the head heard it started
  const auto finished = jobs.DriverStarted(shut, "node-b", 8);
  ASSERT_TRUE(finished.ok()) << "a driver that shut down is not to be stopped";
  EXPECT_EQ(finished->state(), proto::JOB_FINISHED);
  EXPECT_EQ(finished->driver_node_id(), "node-b") << "where its output is";
}

TEST(JobRegistryTest, StopEndsAPendingJobAtOnceAndARunningOneByItsDriversExit) {
  JobRegistry jobs;
  const std::string pending = jobs.Submit(Submission({"prog"}))->job_id();
  const auto stopped = *jobs.RequestStop(pending);
  EXPECT_EQ(stopped.state(), proto::JOB_STOPPED);
  EXPECT_EQ(jobs.DriverStarted(pending, "node-a", 1).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "a driver that starts after its stop must be stopped";

  const std::string running = jobs.Submit(Submission({"prog"}))->job_id();
  ASSERT_TRUE(jobs.DriverStarted(running, "node-a", 2).ok());
  const auto asked = *jobs.RequestStop(running);
  EXPECT_EQ(asked.state(), proto::JOB_RUNNING);
  EXPECT_GT(asked.stop_unix_ms(), 0);
  EXPECT_EQ(jobs.DriverEnded(running, Exit(0, 15))->job.state(), proto::JOB_STOPPED);
  EXPECT_EQ(jobs.RequestStop(running).status().code(), absl::StatusCode::kFailedPrecondition);

  const std::string by_hand = jobs.Register(Request(3, "x"))->job_id();
  EXPECT_EQ(jobs.RequestStop(by_hand).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(jobs.RequestStop("job-0099").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace weft::head
