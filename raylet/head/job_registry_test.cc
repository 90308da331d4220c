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

}  // namespace
}  // namespace weft::head
