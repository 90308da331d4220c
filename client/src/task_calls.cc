#include "client/src/task_calls.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "client/src/call_token.h"
#include "client/src/runtime.h"
#include "client/src/stream_table.h"
#include "client/src/wire_args.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"
#include "weft/error.h"

namespace weft::internal {

namespace {

// A worker with this many unfinished tasks is busy: the pool asks for another.
constexpr int kBusyTasks = 2;
// Lease requests one pool has in flight at most (each may wait in the head's queue).
constexpr int kMaxLeasing = 4;
// A task worker with no task for this long is given back. Long against the gap between two
// tasks of a caller that submits one, Gets it and submits the next (a round trip, well under
// a millisecond: single_client_tasks_sync keeps its worker), short against what a user
// notices: a finished batch frees its CPUs within about 1.5 s. Ray kills idle workers after
// the same 1 s (idle_worker_killing_time_threshold_ms).
constexpr std::chrono::milliseconds kIdleReturn{1000};
constexpr std::chrono::milliseconds kIdleCheck{250};
// Deadline of one lease call: the head answers a queued one after 15 s ("still queued").
constexpr std::chrono::seconds kLeaseCallTimeout{60};

std::string ShapeKey(const proto::LeaseWorkerRequest& lease) {
  std::string key;
  for (const auto& [name, amount] :
       std::map<std::string, double>(lease.required().begin(), lease.required().end())) {
    absl::StrAppend(&key, name, "=", amount, ";");
  }
  return key;
}

}  // namespace

TaskCalls::TaskCalls(Runtime& runtime) : runtime_(runtime) {
  idle_watcher_ = std::thread([this] { WatchIdle(); });
}

TaskCalls::~TaskCalls() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  idle_watcher_.join();
}

std::string TaskCalls::PoolFor(const TaskOptions& options) {
  proto::LeaseWorkerRequest lease;
  lease.set_job_id(runtime_.config().job_id);
  lease.set_owner_worker_id(runtime_.config().worker_id);  // empty for a driver
  if (options.num_cpus > 0) (*lease.mutable_required())["CPU"] = options.num_cpus;
  for (const auto& [name, amount] : options.resources) (*lease.mutable_required())[name] = amount;
  const std::string key = ShapeKey(lease);
  absl::MutexLock lock(&mu_);
  Pool& pool = pools_[key];
  if (pool.lease.job_id().empty()) pool.lease = std::move(lease);
  return key;
}

void TaskCalls::MaybeLeaseLocked(const std::string& key, std::vector<std::string>& leases) {
  Pool& pool = pools_[key];
  const int wanted = static_cast<int>((pool.queue.size() + kBusyTasks - 1) / kBusyTasks);
  for (int i = pool.leasing; i < std::min(wanted, kMaxLeasing); ++i) {
    ++pool.leasing;
    leases.push_back(key);
  }
}

void TaskCalls::Lease(const std::string& key, proto::LeaseWorkerRequest request) {
  auto context = ContextWithTimeout(kLeaseCallTimeout);
  grpc::ClientContext* call = context.get();
  if (!runtime_.in_flight().Add(call)) {  // shutting down
    absl::MutexLock lock(&mu_);
    --pools_[key].leasing;
    return;
  }
  CallAsync<proto::LeaseWorkerReply>(
      std::move(context), std::move(request),
      [this](auto... args) { runtime_.scheduler().async()->LeaseWorker(args...); },
      [this, call, key](const absl::Status& status, proto::LeaseWorkerReply& reply) {
        OnLeased(key, status, reply);
        runtime_.in_flight().Remove(call);
      });
}

void TaskCalls::OnLeased(const std::string& key, const absl::Status& status,
                         const proto::LeaseWorkerReply& reply) {
  const bool still_queued =
      (status.ok() && reply.queued()) || status.code() == absl::StatusCode::kDeadlineExceeded;
  bool ask_again = false;
  Sends sends;
  std::vector<std::string> leases;
  std::vector<std::shared_ptr<Pending>> failed;
  proto::LeaseWorkerRequest again;
  {
    absl::MutexLock lock(&mu_);
    Pool& pool = pools_[key];
    // The cluster is busy: tasks still waiting keep their request in the head's queue.
    ask_again = still_queued && !pool.queue.empty();
    if (ask_again) {
      again = pool.lease;
    } else {
      --pool.leasing;
      if (status.ok() && !still_queued) {
        auto leased = std::make_unique<Leased>();
        leased->address = reply.worker().address();
        leased->worker_id = reply.worker().worker_id();
        leased->idle_since = Clock::now();
        pool.workers.push_back(std::move(leased));
      } else if (!still_queued && pool.workers.empty() && pool.leasing == 0) {
        failed.assign(pool.queue.begin(), pool.queue.end());  // no worker will ever take them
        pool.queue.clear();
      }
      DispatchLocked(key, sends, leases);
    }
  }
  if (ask_again) return Lease(key, std::move(again));
  for (const auto& task : failed) {
    proto::RemoteError error;
    error.set_code(static_cast<int>(status.code()));
    error.set_message(absl::StrCat("cannot start a task worker: ", status.message()));
    runtime_.objects().SetError(task->object_id, std::move(error));
  }
  SendAll(std::move(sends), leases);
}

std::string TaskCalls::Submit(const FunctionInfo& function, const TaskOptions& options,
                              std::vector<CallArg> args) {
  const std::string key = PoolFor(options);
  auto task = std::make_shared<Pending>();
  task->object_id = ObjectTable::NewId();
  runtime_.objects().AddPending(task->object_id, /*held=*/true);  // the ObjectRef adopts it
  task->call.set_method(function.name);
  if (!options.name.empty()) task->call.set_name(options.name.str());
  task->call.set_job_id(runtime_.config().job_id);
  task->call.set_result_id(task->object_id);
  task->call.set_owner_worker_id(runtime_.config().worker_id);
  task->call.set_owner_address(runtime_.own_address());
  *task->call.mutable_code() = runtime_.config().code;
  task->args = std::move(args);
  task->retries_left = options.max_retries;
  task->retry_exceptions = options.retry_exceptions;
  if (function.stream) {  // its items were taken: it does not run again
    task->call.set_stream_window(std::max(1, options.stream_window));
    task->retries_left = 0;
    task->retry_exceptions = false;
    runtime_.streams().Open(task->object_id, options.stream_window);
  }
  const std::string object_id = task->object_id;
  if (auto* parent = CallToken::Current()) parent->AddChild(object_id);  // recursive cancels
  {
    absl::MutexLock lock(&mu_);
    if (by_result_.size() >= by_result_kept_) {
      absl::erase_if(by_result_, [](const auto& entry) { return entry.second.expired(); });
      by_result_kept_ = std::max<size_t>(1024, by_result_.size() * 2);
    }
    by_result_.emplace(object_id, task);
  }
  EnqueueWhenResolved(key, std::move(task));
  return object_id;
}

void TaskCalls::EnqueueWhenResolved(const std::string& key, std::shared_ptr<Pending> task) {
  {
    absl::MutexLock lock(&mu_);
    task->waiting = true;
  }
  if (ArgsResolved(runtime_.objects(), task->args)) return Enqueue(key, std::move(task));
  // Queued once its last reference resolves; tasks need no order among themselves.
  runtime_.objects().SetNote(
      task->object_id, absl::StrCat("task ", task->call.method(), " waits for its arguments"));
  auto queued = std::make_shared<std::atomic<bool>>(false);
  OnArgResolved(runtime_.objects(), task->args, [this, key, task, queued] {
    if (!ArgsResolved(runtime_.objects(), task->args) || queued->exchange(true)) return;
    Enqueue(key, task);
  });
}

ObjectTable::Rebuild TaskCalls::Lineage(const std::string& key, std::shared_ptr<Pending> task) {
  return
      [this, key, task = std::move(task)](const std::string& lost_address, std::string* why_not) {
        bool cancelled = false;
        {
          absl::MutexLock lock(&mu_);  // its worker is gone or cannot serve: it takes no more tasks
          for (auto& worker : pools_[key].workers) worker->lost |= worker->address == lost_address;
          cancelled = task->cancelled;
        }
        if (cancelled) {
          *why_not = absl::StrCat("the task ", task->call.method(), " that made it was cancelled");
          return false;
        }
        if (task->retries_left == 0) {
          *why_not = absl::StrCat("the task ", task->call.method(),
                                  " that made it has no retries left (max_retries)");
          return false;
        }
        if (task->retries_left > 0) --task->retries_left;
        spdlog::warn("task {} result={} runs again: its stored result was lost",
                     task->call.method(), task->object_id);
        EnqueueWhenResolved(key, task);
        return true;
      };
}

bool TaskCalls::ArgumentLost(const std::string& key, const std::shared_ptr<Pending>& task,
                             const proto::CallResult& result) {
  if (!result.has_error() || result.error().kind() != proto::FAILURE_OBJECT_LOST) return false;
  {
    absl::MutexLock lock(&mu_);
    if (task->cancelled) return false;  // no more tries
  }
  const std::string& id = result.error().object_id();
  const bool is_argument = std::any_of(task->args.begin(), task->args.end(), [&](const auto& a) {
    return a.ref && !a.pass_ref && *a.ref == id;
  });
  if (id.empty() || !is_argument) return false;
  // Pending again (rebuilt or asked of its owner), here, or failed: never located where it
  // was, so the next try does not fail the same way; a failed argument fails the task.
  runtime_.objects().Lost(id, "", result.error().message());
  EnqueueWhenResolved(key, task);
  return true;
}

void TaskCalls::Enqueue(const std::string& key, std::shared_ptr<Pending> task) {
  Sends sends;
  std::vector<std::string> leases;
  {
    absl::MutexLock lock(&mu_);
    if (task->cancelled) return;  // failed by Cancel when it took it out of waiting
    task->waiting = true;
    pools_[key].queue.push_back(std::move(task));
    DispatchLocked(key, sends, leases);
  }
  SendAll(std::move(sends), leases);
}

void TaskCalls::DispatchLocked(const std::string& key, Sends& out,
                               std::vector<std::string>& leases) {
  Pool& pool = pools_[key];
  while (!pool.queue.empty()) {
    Leased* best = nullptr;
    for (auto& w : pool.workers) {
      if (w->lost) continue;
      if (w->unfinished < kBusyTasks && (!best || w->unfinished < best->unfinished)) {
        best = w.get();
      }
    }
    if (!best) return MaybeLeaseLocked(key, leases);
    ++best->unfinished;
    pool.queue.front()->waiting = false;
    pool.queue.front()->sent_to = best->address;
    out.push_back({key, best, std::move(pool.queue.front())});
    pool.queue.pop_front();
  }
}

void TaskCalls::SendAll(Sends sends, const std::vector<std::string>& leases) {
  for (const auto& key : leases) {
    proto::LeaseWorkerRequest request;
    {
      absl::MutexLock lock(&mu_);
      request = pools_[key].lease;
    }
    Lease(key, std::move(request));
  }
  for (auto& sent : sends) Send(sent.key, sent.worker, std::move(sent.task));
}

void TaskCalls::Send(const std::string& key, Leased* worker, std::shared_ptr<Pending> task) {
  auto& objects = runtime_.objects();
  auto finish = [this, key, worker, task](bool lost) {
    Sends sends;
    std::vector<std::string> leases;
    {
      absl::MutexLock lock(&mu_);
      task->sent_to.clear();
      worker->lost |= lost;
      if (--worker->unfinished == 0) worker->idle_since = Clock::now();
      DispatchLocked(key, sends, leases);
    }
    SendAll(std::move(sends), leases);
  };
  proto::Call call = task->call;  // a copy per try: a retry builds its arguments again
  proto::RemoteError failed;
  std::vector<std::shared_ptr<const std::string>> lent_inside;  // held until the result
  if (!BuildArgs(objects, task->args, &call, &failed, &lent_inside)) {
    objects.SetError(task->object_id, std::move(failed));
    finish(false);
    return;
  }
  // Said by a Get that times out: where the task is.
  objects.SetNote(task->object_id,
                  absl::StrCat("task ", task->call.method(), " was sent to worker ",
                               worker->worker_id, " at ", worker->address));
  auto lent = call.lent_ids();
  if (call.stream_window() > 0) runtime_.streams().SetSource(task->object_id, worker->address);
  const bool sent = runtime_.workers().Submit(
      worker->address, std::move(call),
      [this, finish, key, task, address = worker->address, lent = std::move(lent),
       lent_inside = std::move(lent_inside)](proto::CallResult& result) {
        if (result.item() > 0) return runtime_.streams().OnItem(task->object_id, result);
        // While the task holds its arguments: the worker may still hold some of them. A result
        // that never came may have said so: the worker is watched all the same (at once
        // released if it is gone).
        if (result.borrowed_ids_size() > 0) {
          runtime_.objects().AddBorrowers(address, result.borrowed_ids());
        } else if (!lent.empty() && WorkerLost(result)) {
          runtime_.objects().AddBorrowers(address, lent);
        }
        finish(WorkerLost(result));  // first: a retry must not go to a lost worker again
        if (ArgumentLost(key, task, result) || Retry(key, task, result, address)) return;
        // Only a stored result keeps a lineage (the task and its arguments).
        runtime_.objects().SetCallResult(
            task->object_id, result,
            result.has_stored() ? Lineage(key, task) : ObjectTable::Rebuild());
      });
  if (!sent) {  // shutting down
    proto::RemoteError error;
    error.set_code(14);
    error.set_message("weft is shutting down");
    objects.SetError(task->object_id, std::move(error));
    return;
  }
  // Cancelled between its dispatch and now: that cancel may have gone ahead of the task.
  proto::CancelCall cancel;
  {
    absl::MutexLock lock(&mu_);
    if (!task->cancelled) return;
    cancel = task->cancel;
  }
  runtime_.workers().CancelCall(worker->address, std::move(cancel));
}

bool TaskCalls::WorkerLost(const proto::CallResult& result) {
  return result.has_error() && result.error().kind() == proto::FAILURE_UNREACHABLE;
}

bool TaskCalls::Retry(const std::string& key, const std::shared_ptr<Pending>& task,
                      proto::CallResult& result, const std::string& address) {
  if (!result.has_error()) return false;
  const bool lost = WorkerLost(result);
  bool cancelled = false;
  {
    absl::MutexLock lock(&mu_);
    cancelled = task->cancelled;
  }
  if (cancelled) {  // no more tries; a worker lost meanwhile was killed by a forced cancel
    if (lost || result.error().kind() == proto::FAILURE_OBJECT_LOST) {
      auto& error = *result.mutable_error();
      error.set_code(static_cast<int>(ErrorCode::kCancelled));
      error.set_kind(proto::FAILURE_CANCELLED);
      error.set_class_name(task->call.method());
      error.set_message(absl::StrCat("the task was cancelled, and ",
                                     lost ? absl::StrCat("its worker at ", address, " ended")
                                          : std::string("an argument of it was lost"),
                                     ": ", error.message()));
    }
    return false;
  }
  const bool threw = result.error().kind() == proto::FAILURE_USER_EXCEPTION;
  if (!lost && !(threw && task->retry_exceptions)) return false;
  if (task->retries_left == 0) {
    if (lost) {
      auto& error = *result.mutable_error();
      error.set_kind(proto::FAILURE_WORKER_CRASHED);
      error.set_class_name(task->call.method());
      error.set_message(absl::StrCat("the worker at ", address, " running task ",
                                     task->call.method(),
                                     " died (no retries left): ", error.message()));
    }
    return false;
  }
  if (task->retries_left > 0) --task->retries_left;
  spdlog::warn("task {} result={} runs again: {}", task->call.method(), task->object_id,
               result.error().message());
  Enqueue(key, task);
  return true;
}

TaskCalls::Returns TaskCalls::IdleWorkersLocked(Clock::time_point now) {
  bool starved = false;  // some shape waits for a lease: idle workers of others go at once
  for (const auto& [key, pool] : pools_) starved |= !pool.queue.empty() && pool.leasing > 0;
  Returns out;
  for (auto& [key, pool] : pools_) {
    const bool others_wait = starved && pool.queue.empty();
    for (auto it = pool.workers.begin(); it != pool.workers.end();) {
      Leased& w = **it;
      const bool idle = w.unfinished == 0 && (others_wait || now - w.idle_since >= kIdleReturn);
      if (idle) {  // it stays alive, holding nothing, if it keeps objects (worker_service)
        out.push_back(std::move(*it));
        it = pool.workers.erase(it);
      } else {
        ++it;
      }
    }
  }
  return out;
}

void TaskCalls::Return(std::unique_ptr<Leased> worker) {
  proto::ReturnWorkerRequest request;
  request.set_job_id(runtime_.config().job_id);
  request.set_worker_id(worker->worker_id);
  auto context = ContextWithTimeout(kControlRpcTimeout);
  grpc::ClientContext* call = context.get();
  if (!runtime_.in_flight().Add(call)) return;  // shutting down: the job's end stops it
  CallAsync<proto::ReturnWorkerReply>(
      std::move(context), std::move(request),
      [this](auto... args) { runtime_.scheduler().async()->ReturnWorker(args...); },
      [this, call, id = worker->worker_id](const absl::Status& status, const auto&) {
        if (!status.ok()) spdlog::debug("worker {} not returned: {}", id, status.message());
        runtime_.in_flight().Remove(call);
      });
}

void TaskCalls::WatchIdle() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(kIdleCheck));
    if (stopping_) return;
    Returns idle = IdleWorkersLocked(Clock::now());
    if (idle.empty()) continue;
    mu_.Unlock();
    for (auto& worker : idle) Return(std::move(worker));
    mu_.Lock();
  }
}

std::optional<CancelOutcome> TaskCalls::Cancel(const std::string& object_id,
                                               const CancelOptions& options) {
  std::shared_ptr<Pending> task;
  std::string address;
  bool dropped = false;
  {
    absl::MutexLock lock(&mu_);
    auto found = by_result_.find(object_id);
    if (found == by_result_.end() || !(task = found->second.lock())) return std::nullopt;
    if (task->cancelled) {  // asked already; a forced cancel may follow a plain one
      if (!options.force || task->cancel.force() || task->sent_to.empty()) {
        return CancelOutcome::kRequested;
      }
      task->cancel.set_force(true);
      address = task->sent_to;
    } else {
      task->cancelled = true;
      task->cancel.set_object_id(object_id);
      task->cancel.set_force(options.force);
      task->cancel.set_recursive(options.recursive);
      address = task->sent_to;
      // Not at a worker yet: in its shape's queue, or waiting for its arguments (Enqueue
      // drops it then). Neither waiting nor sent, its answer is on its way.
      dropped = task->waiting;
      if (dropped) {
        for (auto& [key, pool] : pools_) std::erase(pool.queue, task);
      }
      if (!dropped && address.empty()) return CancelOutcome::kRequested;
    }
  }
  if (dropped) {
    proto::RemoteError error;
    error.set_code(static_cast<int>(ErrorCode::kCancelled));
    error.set_kind(proto::FAILURE_CANCELLED);
    error.set_class_name(task->call.method());
    error.set_message("the task was cancelled before it was sent");
    runtime_.objects().SetError(object_id, std::move(error));
    return CancelOutcome::kDropped;
  }
  runtime_.workers().CancelCall(address, task->cancel);
  return CancelOutcome::kRequested;
}

std::string SubmitTask(const FunctionInfo& function, const TaskOptions& options,
                       std::vector<CallArg> args) {
  return Runtime::Get().tasks().Submit(function, options, std::move(args));
}

}  // namespace weft::internal
