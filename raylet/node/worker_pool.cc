#include "raylet/node/worker_pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/rpc.h"
#include "raylet/node/driver_guard.h"

namespace weft::node {
namespace {

// The fd number at which every worker finds its lifeline (see worker/main.cc).
constexpr int kWorkerLifelineFd = 3;

std::string LogBase(const std::string& logs_dir, const std::string& worker_id) {
  return absl::StrCat(logs_dir, "/worker-", worker_id);
}

}  // namespace

WorkerPool::WorkerPool(Options options, ExitCallback on_exit)
    : options_(std::move(options)), on_exit_(std::move(on_exit)) {
  fence_after_ = options_.fence_after;
  if (pipe2(lifeline_, O_CLOEXEC) != 0) spdlog::error("cannot create the worker lifeline pipe");
}

WorkerPool::~WorkerPool() {
  for (int fd : lifeline_) {
    if (fd >= 0) close(fd);
  }
}

void WorkerPool::Open(const std::string& node_address, const std::string& head_address) {
  absl::MutexLock lock(&mu_);
  node_address_ = node_address;
  head_address_ = head_address;
}

void WorkerPool::SetFenceAfter(absl::Duration fence_after) {
  absl::MutexLock lock(&mu_);
  fence_after_ = fence_after;
}

void WorkerPool::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void WorkerPool::Start(const std::string& job_id, const std::string& owner_worker_id,
                       const ResourceMap& resources, StartCallback done) {
  const std::string worker_id = NewWorkerId();
  absl::Status refused;
  std::optional<std::pair<proto::WorkerInfo, Spawned>> watch;
  {
    absl::MutexLock lock(&mu_);  // held across spawn so Reap() cannot meet an unknown pid
    const absl::Status admitted = AdmitLocked(resources);
    auto spawned =
        admitted.ok() ? SpawnLocked(worker_id, job_id) : absl::StatusOr<Spawned>(admitted);
    if (spawned.ok()) {
      const pid_t pid = spawned->pid;
      Worker worker{{}, resources, std::move(done), absl::Now()};
      worker.info.set_worker_id(worker_id);
      worker.info.set_node_id(options_.node_id);
      worker.info.set_pid(pid);
      worker.info.set_state(proto::WORKER_STARTING);
      worker.info.set_job_id(job_id);
      worker.info.set_owner_worker_id(owner_worker_id);
      worker.info.set_stdout_path(LogBase(options_.logs_dir, worker_id) + ".out");
      worker.info.set_stderr_path(LogBase(options_.logs_dir, worker_id) + ".err");
      spdlog::info("worker starting id={} pid={} job={}", worker_id, pid, job_id);
      if (spawned->stdout_fd >= 0) watch.emplace(worker.info, *spawned);
      by_pid_[pid] = worker_id;
      workers_.emplace(worker_id, std::move(worker));
      ++version_;
    } else {
      refused = spawned.status();
    }
  }
  if (watch) options_.watch_output(watch->first, watch->second.stdout_fd, watch->second.stderr_fd);
  if (!refused.ok()) done(refused);
}

std::string WorkerPool::DriverOutputPath(const std::string& job_id) const {
  return absl::StrCat(options_.logs_dir, "/", job_id, "-driver.out");
}

void WorkerPool::StartDriver(const std::string& job_id, const ResourceMap& resources,
                             DriverLaunch launch, StartCallback done) {
  const std::string worker_id = DriverWorkerId(job_id);
  const std::string output = DriverOutputPath(job_id);
  absl::StatusOr<proto::WorkerInfo> started;
  int output_fd = -1;  // the read end of its output pipe, with watch_output
  {
    absl::MutexLock lock(&mu_);  // held across spawn so Reap() cannot meet an unknown pid
    absl::Status admitted = AdmitLocked(resources);
    if (admitted.ok() && workers_.contains(worker_id)) {
      admitted = absl::AlreadyExistsError(absl::StrCat("job ", job_id, "'s driver runs already"));
    }
    absl::StatusOr<pid_t> pid = absl::InternalError("not spawned");
    if (!admitted.ok()) {
      pid = admitted;
    } else {
      SpawnOptions spawn;
      spawn.argv = std::move(launch.argv);
      spawn.cwd = launch.cwd;
      int out[2] = {-1, -1};
      if (options_.watch_output && pipe2(out, O_CLOEXEC) == 0) {
        spawn.fds = {{out[1], 1}, {out[1], 2}};  // one stream: the order it printed in
      } else {
        spawn.stdout_path = spawn.stderr_path = output;
      }
      const TokenState token = TokenStateOf(options_.token);
      // The cluster's first: the first of two entries of a name is the one read.
      spawn.extra_env = {absl::StrCat("WEFT_ADDRESS=", head_address_),
                         absl::StrCat("WEFT_TOKEN=", token.token),
                         absl::StrCat("WEFT_JOB_ID=", job_id)};
      if (!options_.tls_dir.empty()) {
        spawn.extra_env.push_back(absl::StrCat("WEFT_TLS_CA=", options_.tls_dir, "/ca.pem"));
        // The node's certificate, shown under mutual TLS, when it has one.
        if (access(absl::StrCat(options_.tls_dir, "/key.pem").c_str(), R_OK) == 0) {
          spawn.extra_env.push_back(absl::StrCat("WEFT_TLS_CERT=", options_.tls_dir, "/cert.pem"));
          spawn.extra_env.push_back(absl::StrCat("WEFT_TLS_KEY=", options_.tls_dir, "/key.pem"));
        }
      }
      spawn.extra_env.insert(spawn.extra_env.end(), launch.env.begin(), launch.env.end());
      if (!options_.driver_guard.empty() && lifeline_[0] >= 0) {
        // Ended with this raylet, however it ends, as workers are (driver_guard.h). The
        // lifeline's copy goes last, as a worker's: the output pipe may sit at its number.
        spawn.argv =
            GuardedDriverArgv(options_.driver_guard, kWorkerLifelineFd, std::move(spawn.argv));
        spawn.extra_env = GuardedEnv(std::move(spawn.extra_env));
        spawn.fds.emplace_back(lifeline_[0], kWorkerLifelineFd);
      }
      unlink(output.c_str());  // a job id of an earlier cluster in this session
      pid = SpawnProcess(spawn);
      if (out[1] >= 0) close(out[1]);  // only the driver holds it now
      if (pid.ok()) {
        output_fd = out[0];
      } else if (out[0] >= 0) {
        close(out[0]);
      }
    }
    if (pid.ok()) {
      Worker worker{{}, resources, nullptr, absl::Now()};
      worker.info.set_worker_id(worker_id);
      worker.info.set_node_id(options_.node_id);
      worker.info.set_pid(*pid);
      worker.info.set_state(proto::WORKER_ALIVE);
      worker.info.set_job_id(job_id);
      worker.info.set_driver(true);
      worker.info.set_stdout_path(output);
      worker.info.set_stderr_path(output);
      spdlog::info("driver started job={} pid={}", job_id, *pid);
      started = worker.info;
      by_pid_[*pid] = worker_id;
      workers_.emplace(worker_id, std::move(worker));
      ++version_;
    } else {
      started = pid.status();
    }
  }
  if (output_fd >= 0) options_.watch_output(*started, output_fd, -1);
  done(std::move(started));
}

absl::Status WorkerPool::AdmitLocked(const ResourceMap& resources) const {
  if (closed_) return absl::UnavailableError("node is shutting down");
  if (lifeline_[0] < 0) return absl::InternalError("node has no lifeline pipe for its workers");
  if (node_address_.empty()) return absl::UnavailableError("node is still starting");
  ResourceMap used = UsedLocked();
  for (const auto& [name, amount] : resources) {
    const auto cap = options_.capacity.find(name);
    const double capacity = cap == options_.capacity.end() ? 0 : cap->second;
    if (used[name] + amount > capacity + 1e-9) {
      return absl::ResourceExhaustedError(absl::StrCat("node ", options_.node_id, " has ",
                                                       capacity - used[name], " of ", name,
                                                       " free, ", amount, " asked"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<WorkerPool::Spawned> WorkerPool::SpawnLocked(const std::string& worker_id,
                                                            const std::string& job_id) {
  SpawnOptions spawn;
  spawn.argv = {options_.worker_binary,
                "--worker-id",
                worker_id,
                "--node-id",
                options_.node_id,
                "--node-address",
                node_address_,
                "--head-address",
                head_address_,
                "--host",
                options_.worker_host,
                "--lifeline-fd",
                std::to_string(kWorkerLifelineFd),
                "--log-file",
                LogBase(options_.logs_dir, worker_id) + ".log",
                "--job-id",
                job_id,
                "--fence-after-ms",
                std::to_string(absl::ToInt64Milliseconds(fence_after_))};
  if (!options_.worker_advertise_host.empty()) {
    spawn.argv.insert(spawn.argv.end(), {"--advertise-host", options_.worker_advertise_host});
  }
  if (!options_.object_store_dir.empty()) {
    spawn.argv.insert(spawn.argv.end(), {"--object-store-dir", options_.object_store_dir});
  }
  // The token now, and a rotation under way (weft token rotate): the worker takes it too.
  const TokenState token = TokenStateOf(options_.token);
  spawn.extra_env = {absl::StrCat("WEFT_TOKEN=", token.token)};
  if (token.rotation) {
    spawn.extra_env.push_back("WEFT_TOKEN_ROTATION=" + TokenRotationEnv(*token.rotation));
  }
  if (!options_.tls_dir.empty()) spawn.extra_env.push_back("WEFT_TLS_DIR=" + options_.tls_dir);
  if (options_.tls_mutual) spawn.extra_env.push_back("WEFT_TLS_MUTUAL=1");
  spawn.extra_env.push_back(absl::StrCat("WEFT_MAX_MESSAGE_SIZE=", MaxMessageBytes()));
  spawn.fds = {{lifeline_[0], kWorkerLifelineFd}};
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  absl::Cleanup close_pipes = [&] {
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) close(fd);
    }
  };
  if (options_.watch_output) {
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat("cannot create output pipes: ", strerror(errno)));
    }
    spawn.fds.insert(spawn.fds.begin(), {{out[1], 1}, {err[1], 2}});
  } else {
    spawn.stdout_path = LogBase(options_.logs_dir, worker_id) + ".out";
    spawn.stderr_path = LogBase(options_.logs_dir, worker_id) + ".err";
  }
  auto pid = SpawnProcess(spawn);
  if (!pid.ok()) return pid.status();
  Spawned spawned{
      .pid = *pid, .stdout_fd = std::exchange(out[0], -1), .stderr_fd = std::exchange(err[0], -1)};
  return spawned;  // the write ends close with close_pipes: only the worker holds them now
}

absl::Status WorkerPool::OnRegistered(const std::string& worker_id, const std::string& address,
                                      pid_t pid) {
  StartCallback done;
  proto::WorkerInfo info;
  {
    absl::MutexLock lock(&mu_);
    auto it = workers_.find(worker_id);
    if (it == workers_.end()) {
      return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found on this node"));
    }
    Worker& worker = it->second;
    if (worker.info.pid() != pid) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker ", worker_id, " has pid ", worker.info.pid(), ", not ", pid));
    }
    if (worker.expired) {
      return absl::FailedPreconditionError(
          absl::StrCat("worker ", worker_id, " registered after its start timed out"));
    }
    worker.info.set_address(address);
    worker.info.set_state(proto::WORKER_ALIVE);
    done = std::exchange(worker.on_ready, nullptr);
    info = worker.info;
  }
  spdlog::info("worker ready id={} pid={} address={}", worker_id, pid, address);
  if (done) done(info);
  return absl::OkStatus();
}

void WorkerPool::Reap() {
  for (int i = 0; i < 4096; ++i) {  // bounded: at most one pass over a full process table
    int wait_status = 0;
    const pid_t pid = waitpid(-1, &wait_status, WNOHANG);
    if (pid <= 0) return;
    HandleExit(pid, wait_status);
  }
}

void WorkerPool::HandleExit(pid_t pid, int wait_status) {
  StartCallback done;
  proto::WorkerInfo info;
  {
    absl::MutexLock lock(&mu_);
    auto id = by_pid_.find(pid);
    if (id == by_pid_.end()) return;
    auto it = workers_.find(id->second);
    by_pid_.erase(id);
    info = std::move(it->second.info);
    done = std::move(it->second.on_ready);
    workers_.erase(it);
    ++version_;
    info.set_state(proto::WORKER_EXITED);
    if (WIFSIGNALED(wait_status)) {
      info.mutable_exit()->set_signal(WTERMSIG(wait_status));
    } else {
      info.mutable_exit()->set_exit_code(WEXITSTATUS(wait_status));
    }
    exited_.push_front(info);
    if (exited_.size() > options_.exited_kept) exited_.pop_back();
  }
  const std::string how = DescribeWaitStatus(wait_status);
  spdlog::info("worker exited id={} pid={} {}", info.worker_id(), pid, how);
  if (done) {
    done(absl::UnavailableError(absl::StrCat("worker ", info.worker_id(),
                                             " exited before it was ready (", how, "); see ",
                                             info.stderr_path())));
  }
  on_exit_(info);
}

void WorkerPool::ExpireStarts() {
  std::vector<std::pair<pid_t, StartCallback>> expired;
  {
    absl::MutexLock lock(&mu_);  // kill under the lock: the pid cannot be reaped and reused
    const absl::Time deadline = absl::Now() - options_.start_timeout;
    for (auto& [id, worker] : workers_) {
      if (!worker.on_ready || worker.started > deadline) continue;
      kill(worker.info.pid(), SIGKILL);
      worker.expired = true;
      expired.emplace_back(worker.info.pid(), std::exchange(worker.on_ready, nullptr));
    }
  }
  for (auto& [pid, done] : expired) {
    done(absl::DeadlineExceededError(absl::StrCat("worker pid ", pid, " did not register within ",
                                                  absl::FormatDuration(options_.start_timeout))));
  }
}

ResourceMap WorkerPool::UsedLocked() const {
  ResourceMap used;
  for (const auto& [id, worker] : workers_) {
    for (const auto& [name, amount] : worker.resources) {
      if (!(worker.blocked && name == "CPU")) used[name] += amount;
    }
  }
  return used;
}

absl::StatusOr<bool> WorkerPool::SetBlocked(const std::string& worker_id, bool blocked) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not running on this node"));
  }
  Worker& worker = it->second;
  const auto cpu = worker.resources.find("CPU");
  const bool holds_cpu = cpu != worker.resources.end() && cpu->second > 0;
  if (holds_cpu && worker.blocked != blocked) {
    worker.blocked = blocked;
    ++version_;  // the next heartbeat carries the change
  }
  return holds_cpu;
}

absl::StatusOr<std::string> WorkerPool::Release(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not running on this node"));
  }
  it->second.resources.clear();
  it->second.blocked = false;
  ++version_;  // the next heartbeat shows the freed resources
  return it->second.info.address();
}

absl::Status WorkerPool::Kill(const std::string& worker_id, bool force) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not running on this node"));
  }
  kill(it->second.info.pid(), force ? SIGKILL : SIGTERM);
  return absl::OkStatus();
}

size_t WorkerPool::SignalAll(int signal) {
  absl::MutexLock lock(&mu_);
  for (const auto& [pid, id] : by_pid_) kill(pid, signal);
  return by_pid_.size();
}

void WorkerPool::TerminateAll(absl::Duration grace, const std::function<void()>& while_waiting) {
  if (SignalAll(SIGTERM) == 0) return;
  // The io loop that reaps on SIGCHLD has stopped; poll waitpid until the deadline.
  const absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    Reap();
    if (Current().alive == 0) return;
    if (while_waiting) while_waiting();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  spdlog::warn("killing {} workers that outlived the {} grace period", SignalAll(SIGKILL),
               absl::FormatDuration(grace));
  for (int i = 0; i < 500 && Current().alive > 0; ++i) {
    Reap();
    if (while_waiting) while_waiting();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::vector<proto::WorkerInfo> WorkerPool::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<proto::WorkerInfo> out;
  for (const auto& [id, worker] : workers_) out.push_back(worker.info);
  out.insert(out.end(), exited_.begin(), exited_.end());
  return out;
}

WorkerPool::Snapshot WorkerPool::Current() const {
  absl::MutexLock lock(&mu_);
  Snapshot snapshot;
  snapshot.used = UsedLocked();
  snapshot.alive = static_cast<int>(workers_.size());
  snapshot.version = version_;
  return snapshot;
}

}  // namespace weft::node
