#include "raylet/node/worker_pool.h"

#include <signal.h>
#include <sys/wait.h>
#include "common/logging.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/process.h"

namespace weft::node {

WorkerPool::WorkerPool(Options options, ExitCallback on_exit)
    : options_(std::move(options)), on_exit_(std::move(on_exit)) {}

void WorkerPool::SetNodeAddress(const std::string& address) {
  absl::MutexLock lock(&mu_);
  node_address_ = address;
}

void WorkerPool::Start(const std::string& job_id, const ResourceMap& resources,
                       StartCallback done) {
  const std::string worker_id = NewWorkerId();
  const std::string log_base = absl::StrCat(options_.logs_dir, "/worker-", worker_id);
  SpawnOptions spawn;
  spawn.argv = {options_.worker_binary,
                "--worker-id",
                worker_id,
                "--node-id",
                options_.node_id,
                "--host",
                options_.worker_host,
                "--raylet-pid",
                std::to_string(getpid())};
  spawn.extra_env = {absl::StrCat("WEFT_TOKEN=", options_.token)};
  spawn.stdout_path = log_base + ".out";
  spawn.stderr_path = log_base + ".err";

  absl::Status failure;
  {
    absl::MutexLock lock(&mu_);  // held across spawn so Reap() cannot meet an unknown pid
    spawn.argv.insert(spawn.argv.end(), {"--node-address", node_address_});
    auto pid = SpawnProcess(spawn);
    if (pid.ok()) {
      Worker worker{{}, resources, std::move(done), absl::Now()};
      worker.info.set_worker_id(worker_id);
      worker.info.set_node_id(options_.node_id);
      worker.info.set_pid(*pid);
      worker.info.set_state(proto::WORKER_STARTING);
      worker.info.set_job_id(job_id);
      worker.info.set_stdout_path(spawn.stdout_path);
      worker.info.set_stderr_path(spawn.stderr_path);
      spdlog::info("worker starting id={} pid={} job={}", worker_id, *pid, job_id);
      by_pid_[*pid] = worker_id;
      workers_.emplace(worker_id, std::move(worker));
    } else {
      failure = pid.status();
    }
  }
  if (!failure.ok()) done(failure);
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
    worker.info.set_address(address);
    worker.info.set_state(proto::WORKER_ALIVE);
    done = std::move(worker.on_ready);
    worker.on_ready = nullptr;
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
    Worker worker = std::move(it->second);
    workers_.erase(it);
    info = std::move(worker.info);
    info.set_state(proto::WORKER_EXITED);
    if (WIFSIGNALED(wait_status)) {
      info.mutable_exit()->set_signal(WTERMSIG(wait_status));
    } else {
      info.mutable_exit()->set_exit_code(WEXITSTATUS(wait_status));
    }
    exited_.push_front(info);
    if (exited_.size() > options_.exited_kept) exited_.pop_back();
    done = std::move(worker.on_ready);
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
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() - options_.start_timeout;
    for (auto& [id, worker] : workers_) {
      if (!worker.on_ready || worker.started > deadline) continue;
      expired.emplace_back(worker.info.pid(), std::move(worker.on_ready));
      worker.on_ready = nullptr;
    }
  }
  for (auto& [pid, done] : expired) {
    kill(pid, SIGKILL);
    done(absl::DeadlineExceededError(absl::StrCat("worker pid ", pid, " did not register within ",
                                                  absl::FormatDuration(options_.start_timeout))));
  }
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

void WorkerPool::TerminateAll(absl::Duration grace) {
  auto signal_all = [this](int sig) {
    absl::MutexLock lock(&mu_);
    for (const auto& [pid, id] : by_pid_) kill(pid, sig);
    return by_pid_.size();
  };
  if (signal_all(SIGTERM) == 0) return;
  const absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    Reap();
    if (NumAlive() == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling waitpid, bounded
  }
  const auto left = signal_all(SIGKILL);
  spdlog::warn("killed {} workers that outlived the {} grace period", left,
               absl::FormatDuration(grace));
  for (int i = 0; i < 500 && NumAlive() > 0; ++i) {
    Reap();
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

int WorkerPool::NumAlive() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(workers_.size());
}

ResourceMap WorkerPool::Used() const {
  absl::MutexLock lock(&mu_);
  ResourceMap used;
  for (const auto& [id, worker] : workers_) {
    for (const auto& [name, amount] : worker.resources) used[name] += amount;
  }
  return used;
}

}  // namespace weft::node
