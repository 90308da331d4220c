#pragma once

// Shared by the WorkerPool tests: fake worker scripts in a temp dir, bounded waits, and a
// fixture that ends and reaps every process a test started.

#include "raylet/node/worker_pool.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process.h"

namespace weft::node::testing {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(5);  // bound of every positive wait
// How long a negative observation ("still alive", "no EOF yet") watches before it concludes.
constexpr absl::Duration kQuietWindow = absl::Milliseconds(300);
const ResourceMap kOneCpu = {{"CPU", 1}};

// Polls `condition` every 10 ms until it holds (true) or `timeout` passes (false).
template <typename Condition>
inline bool WaitFor(Condition condition, absl::Duration timeout = kWait) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

inline bool Exists(const std::string& path) { return fs::exists(path); }

// What `pid`'s fd 3 refers to ("pipe:[1234]"), empty when it has none.
inline std::string Fd3Target(pid_t pid) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(absl::StrCat("/proc/", pid, "/fd/3"), ec);
  return ec ? "" : target.string();
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Waits (bounded) for our child `pid` to end; its wait status, or nullopt on timeout.
inline std::optional<int> WaitChild(pid_t pid, absl::Duration timeout = kWait) {
  int status = 0;
  std::optional<int> result;
  WaitFor(
      [&] {
        if (waitpid(pid, &status, WNOHANG) == pid) result = status;
        return result.has_value();
      },
      timeout);
  return result;
}

// What a start's `done` received; shared with the callback so it outlives the test body.
class StartResult : public std::enable_shared_from_this<StartResult> {
 public:
  WorkerPool::StartCallback Callback() {
    return [self = shared_from_this()](absl::StatusOr<proto::WorkerInfo> result) {
      absl::MutexLock lock(&self->mu_);
      ++self->calls_;
      self->result_ = std::move(result);
    };
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  bool done() const { return calls() > 0; }
  absl::StatusOr<proto::WorkerInfo> result() const {
    absl::MutexLock lock(&mu_);
    return result_.value_or(absl::InternalError("done was not called"));
  }

 private:
  mutable absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::StatusOr<proto::WorkerInfo>> result_ ABSL_GUARDED_BY(mu_);
};

class WorkerPoolTest : public ::testing::Test {
 protected:
  static constexpr char kNodeAddress[] = "127.0.0.1:40123";

  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "weft_pool_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    logs_ = dir_ + "/logs";
    fs::create_directory(logs_);
  }

  void TearDown() override {
    if (pool_) {
      pool_->Close();
      pool_->TerminateAll(absl::Milliseconds(200));
      pool_.reset();
    }
    for (pid_t pid : strays_) {
      kill(pid, SIGKILL);
      WaitChild(pid);
    }
    fs::remove_all(dir_);
  }

  // Writes an executable `#!/bin/sh` script; "$D" in `body` is this test's temp dir.
  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\nD='" << dir_ << "'\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }
  std::string ExitsThreeScript() { return Script("exit3.sh", "exit 3"); }
  std::string SleeperScript() { return Script("sleeper.sh", "exec sleep 30"); }
  // Records token, output and argv (argv last, by rename: its presence means all is written).
  std::string RecorderScript() {
    return Script("recorder.sh",
                  "printf '%s\\n' \"${WEFT_TOKEN-unset}\" > \"$D/$$.token\"\n"
                  "echo \"to stdout from $$\"\n"
                  "echo \"to stderr from $$\" >&2\n"
                  "printf '%s\\n' \"$@\" > \"$D/$$.tmp\" && mv \"$D/$$.tmp\" \"$D/$$.argv\"\n"
                  "exec sleep 30");
  }
  // The first worker to run blocks reading fd 3 until EOF, then writes "lifeline-closed" to
  // $D/lifeline-closed ("no-lifeline" when it has no fd 3); any later worker just sleeps.
  std::string LifelineScript() {
    return Script("lifeline.sh",
                  "mkdir \"$D/claim\" 2>/dev/null || exec sleep 30\n"
                  "echo $$ > \"$D/$$.tmp\" && mv \"$D/$$.tmp\" \"$D/lifeline.pid\"\n"
                  "if cat <&3 >/dev/null; then r=lifeline-closed; else r=no-lifeline; fi\n"
                  "echo $r > \"$D/closed.tmp\" && mv \"$D/closed.tmp\" \"$D/lifeline-closed\"");
  }
  std::string LifelinePidFile() const { return dir_ + "/lifeline.pid"; }
  std::string LifelineClosedFile() const { return dir_ + "/lifeline-closed"; }
  std::string ArgvFile(pid_t pid) const { return absl::StrCat(dir_, "/", pid, ".argv"); }

  WorkerPool::Options PoolOptions(const std::string& binary) const {
    WorkerPool::Options options;
    options.worker_binary = binary;
    options.node_id = "node-under-test";
    options.worker_host = "127.0.0.1";
    options.logs_dir = logs_;
    options.token = "secret-token-42";
    options.capacity = kOneCpu;
    return options;
  }
  WorkerPool::ExitCallback RecordExits() {
    return [this](const proto::WorkerInfo& info) {
      absl::MutexLock lock(&mu_);
      exits_.push_back(info);
    };
  }
  WorkerPool& MakePool(WorkerPool::Options options, bool open = true) {
    pool_ = std::make_unique<WorkerPool>(std::move(options), RecordExits());
    if (open) pool_->Open(kNodeAddress, "127.0.0.1:1");
    return *pool_;
  }
  WorkerPool& MakePool(const std::string& binary) { return MakePool(PoolOptions(binary)); }

  std::shared_ptr<StartResult> Start(const ResourceMap& resources = kOneCpu) {
    auto result = std::make_shared<StartResult>();
    pool_->Start("job-1", "", resources, result->Callback());
    return result;
  }
  // The single worker the pool lists.
  proto::WorkerInfo OnlyWorker() const {
    const auto workers = pool_->List();
    EXPECT_EQ(workers.size(), 1u);
    return workers.empty() ? proto::WorkerInfo() : workers[0];
  }
  std::vector<proto::WorkerInfo> Exits() const {
    absl::MutexLock lock(&mu_);
    return exits_;
  }
  // Calls Reap() until `count` exits have been reported.
  bool ReapUntilExits(size_t count) {
    return WaitFor([&] {
      pool_->Reap();
      return Exits().size() >= count;
    });
  }
  // Reaps for kQuietWindow; true when nothing exited meanwhile.
  bool NoExitsDuringQuietWindow() {
    WaitFor(
        [&] {
          pool_->Reap();
          return !Exits().empty();
        },
        kQuietWindow);
    return Exits().empty();
  }
  // True when no child of this process exists at all (nothing was spawned, or all reaped).
  static bool NoChildren() { return waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD; }

  std::string dir_, logs_;
  std::unique_ptr<WorkerPool> pool_;
  std::vector<pid_t> strays_;  // our children outside any pool: killed and reaped in TearDown
  mutable absl::Mutex mu_;
  std::vector<proto::WorkerInfo> exits_ ABSL_GUARDED_BY(mu_);
};

// --- Admission -------------------------------------------------------------------------------

}  // namespace weft::node::testing
