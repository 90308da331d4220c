#include "client/src/task_calls.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/src/runtime.h"
#include "client/src/wire_args.h"
#include "common/rpc.h"
#include "common/status.h"
#include "node.grpc.pb.h"
#include "weft/error.h"

namespace weft::internal {

namespace {

// A worker with this many unfinished tasks is busy: the pool asks for another.
constexpr int kBusyTasks = 2;
// After the scheduler refuses a lease (no room), the pool waits this long before asking again.
constexpr std::chrono::seconds kGrowthBackoff{2};
// How long the first lease of a pool keeps asking while the cluster has no room.
constexpr std::chrono::seconds kFirstLeaseTimeout{60};

std::string ShapeKey(const proto::LeaseWorkerRequest& lease) {
  std::string key;
  for (const auto& [name, amount] :
       std::map<std::string, double>(lease.required().begin(), lease.required().end())) {
    absl::StrAppend(&key, name, "=", amount, ";");
  }
  return key;
}

}  // namespace

std::string TaskCalls::PoolFor(const TaskOptions& options) {
  proto::LeaseWorkerRequest lease;
  lease.set_job_id(runtime_.config().job_id);
  if (options.num_cpus > 0) (*lease.mutable_required())["CPU"] = options.num_cpus;
  for (const auto& [name, amount] : options.resources) (*lease.mutable_required())[name] = amount;
  const std::string key = ShapeKey(lease);
  absl::MutexLock lock(&mu_);
  Pool& pool = pools_[key];
  if (pool.workers.empty()) {
    pool.lease = lease;
    LeaseFirst(pool);
  }
  return key;
}

void TaskCalls::LeaseFirst(Pool& pool) {
  const auto deadline = std::chrono::steady_clock::now() + kFirstLeaseTimeout;
  for (;;) {
    grpc::ClientContext context;
    SetTimeout(context, kControlRpcTimeout * 8);
    proto::LeaseWorkerReply reply;
    const grpc::Status status = runtime_.scheduler().LeaseWorker(&context, pool.lease, &reply);
    if (status.ok()) {
      auto leased = std::make_unique<Leased>();
      leased->address = reply.worker().address();
      pool.workers.push_back(std::move(leased));
      return;
    }
    const absl::Status failed = FromGrpcStatus(status);
    // The cluster is full for now: wait for room, as a pending task would.
    if (failed.code() != absl::StatusCode::kResourceExhausted ||
        std::chrono::steady_clock::now() > deadline) {
      throw Error(static_cast<int>(failed.code()),
                  absl::StrCat("cannot start a task worker: ", failed.message()));
    }
    mu_.Unlock();  // back off without blocking other submitters
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    mu_.Lock();
  }
}

void TaskCalls::MaybeGrow(Pool& pool) {
  if (pool.growing || std::chrono::steady_clock::now() < pool.next_growth) return;
  auto context = ContextWithTimeout(kControlRpcTimeout * 8);
  grpc::ClientContext* call = context.get();
  if (!runtime_.in_flight().Add(call)) return;
  pool.growing = true;
  CallAsync<proto::LeaseWorkerReply>(
      std::move(context), pool.lease,
      [this](auto... args) { runtime_.scheduler().async()->LeaseWorker(args...); },
      [this, call, key = ShapeKey(pool.lease)](const absl::Status& status,
                                               proto::LeaseWorkerReply& reply) {
        Sends sends;
        {
          absl::MutexLock lock(&mu_);
          Pool& grown = pools_[key];
          grown.growing = false;
          if (status.ok()) {
            auto leased = std::make_unique<Leased>();
            leased->address = reply.worker().address();
            grown.workers.push_back(std::move(leased));
            DispatchLocked(key, sends);
          } else {
            grown.next_growth = std::chrono::steady_clock::now() + kGrowthBackoff;
          }
        }
        for (auto& [worker, task] : sends) Send(key, worker, std::move(task));
        runtime_.in_flight().Remove(call);
      });
}

std::string TaskCalls::Submit(const FunctionInfo& function, const TaskOptions& options,
                              std::vector<CallArg> args) {
  const std::string key = PoolFor(options);
  auto task = std::make_shared<Pending>();
  task->object_id = ObjectTable::NewId();
  runtime_.objects().AddPending(task->object_id);
  task->call.set_method(function.name);
  task->call.set_job_id(runtime_.config().job_id);
  task->call.set_result_id(task->object_id);
  for (const auto& path : runtime_.config().code_paths) task->call.add_code_paths(path);
  task->args = std::move(args);
  const std::string object_id = task->object_id;
  if (ArgsResolved(runtime_.objects(), task->args)) {
    Enqueue(key, std::move(task));
  } else {
    // Queued once its last reference resolves; tasks need no order among themselves.
    auto queued = std::make_shared<std::atomic<bool>>(false);
    OnArgResolved(runtime_.objects(), task->args, [this, key, task, queued] {
      if (!ArgsResolved(runtime_.objects(), task->args) || queued->exchange(true)) return;
      Enqueue(key, task);
    });
  }
  return object_id;
}

void TaskCalls::Enqueue(const std::string& key, std::shared_ptr<Pending> task) {
  Sends sends;
  {
    absl::MutexLock lock(&mu_);
    pools_[key].queue.push_back(std::move(task));
    DispatchLocked(key, sends);
  }
  for (auto& [worker, pending] : sends) Send(key, worker, std::move(pending));
}

void TaskCalls::DispatchLocked(const std::string& key, Sends& out) {
  Pool& pool = pools_[key];
  while (!pool.queue.empty()) {
    Leased* best = nullptr;
    for (auto& w : pool.workers) {
      if (w->unfinished < kBusyTasks && (!best || w->unfinished < best->unfinished)) {
        best = w.get();
      }
    }
    if (!best) {
      MaybeGrow(pool);
      return;
    }
    ++best->unfinished;
    out.emplace_back(best, std::move(pool.queue.front()));
    pool.queue.pop_front();
  }
}

void TaskCalls::Send(const std::string& key, Leased* worker, std::shared_ptr<Pending> task) {
  auto& objects = runtime_.objects();
  auto finish = [this, key, worker] {
    Sends sends;
    {
      absl::MutexLock lock(&mu_);
      --worker->unfinished;
      DispatchLocked(key, sends);
    }
    for (auto& [next_worker, next] : sends) Send(key, next_worker, std::move(next));
  };
  proto::RemoteError failed;
  if (!BuildArgs(objects, task->args, task->call.mutable_args(), &failed)) {
    objects.SetError(task->object_id, std::move(failed));
    finish();
    return;
  }
  const bool sent = runtime_.workers().Submit(
      worker->address, std::move(task->call),
      [this, finish, object_id = task->object_id](proto::CallResult& result) {
        runtime_.objects().SetResult(object_id, result);
        finish();
      });
  if (!sent) {  // shutting down
    proto::RemoteError error;
    error.set_code(14);
    error.set_message("weft is shutting down");
    objects.SetError(task->object_id, std::move(error));
  }
}

std::string SubmitTask(const FunctionInfo& function, const TaskOptions& options,
                       std::vector<CallArg> args) {
  return Runtime::Get().tasks().Submit(function, options, std::move(args));
}

}  // namespace weft::internal
