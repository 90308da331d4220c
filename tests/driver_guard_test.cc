// The guard a node runs a submitted driver under (raylet/node/driver_guard.h), as the node
// starts it: weft-raylet --guard-driver with the read end of a lifeline pipe at fd 3. The
// driver here is /bin/sh.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "common/process.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

class DriverGuardTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pipe2(lifeline_, O_CLOEXEC), 0); }
  void TearDown() override {
    for (int fd : lifeline_) {
      if (fd >= 0) close(fd);
    }
    if (guard_ > 0 && waitpid(guard_, nullptr, WNOHANG) == 0) {
      kill(guard_, SIGKILL);
      waitpid(guard_, nullptr, 0);
    }
  }

  // Starts `sh -c script` under the guard, its output in output(); `env` for the guard.
  void Start(const std::string& script, std::vector<std::string> env = {}) {
    SpawnOptions spawn;
    spawn.argv = {BinPath("weft-raylet"), "--guard-driver", "3", "--", "/bin/sh", "-c", script};
    spawn.extra_env = std::move(env);
    spawn.stdout_path = spawn.stderr_path = dir_.Sub("out");
    spawn.fds = {{lifeline_[0], 3}};
    auto pid = SpawnProcess(spawn);
    ASSERT_TRUE(pid.ok()) << pid.status();
    guard_ = *pid;
  }

  // The guard's wait status once it ended, within 10 s (-1 if it did not).
  int GuardEnd() {
    int status = -1;
    if (!WaitFor([&] { return waitpid(guard_, &status, WNOHANG) == guard_; },
                 std::chrono::seconds(10))) {
      return -1;
    }
    guard_ = -1;
    return status;
  }

  std::string output() const {
    std::ifstream in(dir_.Sub("out"));
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
  }

  int lifeline_[2] = {-1, -1};
  TempDir dir_;
  pid_t guard_ = -1;
};

TEST_F(DriverGuardTest, EndsAsTheDriverEndsWithItsCodeOrItsSignal) {
  Start("exit 7");
  const int code = GuardEnd();
  ASSERT_TRUE(WIFEXITED(code));
  EXPECT_EQ(WEXITSTATUS(code), 7);

  Start("ulimit -c 0; kill -SEGV $$");  // no core of the driver's own either
  const int signalled = GuardEnd();
  ASSERT_TRUE(WIFSIGNALED(signalled));
  EXPECT_EQ(WTERMSIG(signalled), SIGSEGV);
  EXPECT_FALSE(WCOREDUMP(signalled)) << "the guard dumped a core of its own";
}

TEST_F(DriverGuardTest, PassesAStopOnToTheDriver) {
  Start("trap 'echo stopping; exit 3' TERM; echo ready; while :; do sleep 0.05; done");
  ASSERT_TRUE(WaitFor([&] { return output().find("ready") != std::string::npos; },
                      std::chrono::seconds(10)));
  ASSERT_EQ(kill(guard_, SIGTERM), 0);
  const int code = GuardEnd();
  ASSERT_TRUE(WIFEXITED(code)) << code;
  EXPECT_EQ(WEXITSTATUS(code), 3);
  EXPECT_NE(output().find("stopping"), std::string::npos) << output();
}

// The raylet gone (the lifeline's write end closed): the driver is killed and the guard ends.
TEST_F(DriverGuardTest, KillsTheDriverWhenTheLifelineCloses) {
  Start("echo $$; exec sleep 60");
  int driver = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        driver = std::atoi(output().c_str());
        return driver > 0;
      },
      std::chrono::seconds(10)));
  ASSERT_TRUE(ProcessAlive(driver));
  close(lifeline_[1]);
  lifeline_[1] = -1;
  const int code = GuardEnd();
  ASSERT_TRUE(WIFSIGNALED(code)) << code;
  EXPECT_EQ(WTERMSIG(code), SIGKILL);
  EXPECT_FALSE(ProcessAlive(driver));
}

// The driver's loader variables reach the driver under their names, and the guard not at all.
TEST_F(DriverGuardTest, GivesTheDriverItsLoaderVariablesBack) {
  Start("echo \"path=$LD_LIBRARY_PATH renamed=$WEFT_GUARDED_LD_LIBRARY_PATH\"",
        {"WEFT_GUARDED_LD_LIBRARY_PATH=/the/job/lib"});
  ASSERT_EQ(GuardEnd(), 0);
  EXPECT_EQ(output(), "path=/the/job/lib renamed=\n");
}

}  // namespace
}  // namespace weft::testing
