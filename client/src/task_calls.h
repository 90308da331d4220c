#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "client/src/object_table.h"
#include "head.pb.h"
#include "weft/call_args.h"
#include "weft/cancel.h"
#include "weft/task.h"
#include "worker.pb.h"

namespace weft::internal {

class Runtime;

// Remote tasks of this process. Per resource shape it leases task workers from the head's
// scheduler, in the background: a lease the cluster has no room for waits in the head's queue
// (the long poll is simply asked again), so a busy cluster delays tasks and never fails them.
// Tasks whose reference arguments are resolved wait in the shape's queue and go to a worker
// with room (at most kBusyTasks unfinished each), so a worker that joins late takes its share.
// Only a request no node could ever hold (infeasible) fails the shape's waiting tasks.
//
// A task whose stored result is lost runs again (within max_retries) to rebuild it: the
// result's lineage (ObjectTable::Rebuild) is the task itself, kept with its arguments while the
// result is located. A try that finds one of its arguments lost has that argument rebuilt (or
// asked of its owner) and goes again once it is back; that costs the task no retry.
//
// A worker is given back (Scheduler.ReturnWorker) once it has had no task for kIdleReturn
// and keeps no result its caller still references; at once when tasks of another shape wait
// for a lease. Thread-safe; a background thread looks for idle workers every kIdleCheck.
class TaskCalls {
 public:
  explicit TaskCalls(Runtime& runtime);
  ~TaskCalls();

  // Returns the id of the task's result object; never blocks. When no node could ever hold
  // the task's resources, the result holds that error (UNAVAILABLE, naming them).
  std::string Submit(const FunctionInfo& function, const TaskOptions& options,
                     std::vector<CallArg> args);

  // Cancels the task whose result is `object_id` (weft::Cancel): one not sent yet fails at once
  // and never runs; a sent one is cancelled at its worker (with `force`, the worker kills
  // itself), and runs no more tries. Nullopt when no unfinished task of this process makes it.
  std::optional<CancelOutcome> Cancel(const std::string& object_id, const CancelOptions& options);

 private:
  using Clock = std::chrono::steady_clock;
  struct Leased {
    std::string address;
    std::string worker_id;
    int unfinished = 0;
    Clock::time_point idle_since;
    bool lost = false;  // its stream broke: the process died or was cut off; no more tasks
  };
  struct Pending {
    proto::Call call;  // without its arguments: built from `args` at each send
    std::vector<CallArg> args;
    std::string object_id;
    int retries_left = 0;  // -1: no limit
    bool retry_exceptions = false;
    // Guarded by mu_: waiting for its arguments or for a worker (not sent yet); the worker its
    // try went to (empty while it is not at one); whether its caller cancelled it (it then
    // runs no more tries).
    bool waiting = false;
    std::string sent_to;
    bool cancelled = false;
    proto::CancelCall cancel;  // as asked
  };
  struct Pool {
    proto::LeaseWorkerRequest lease;
    std::vector<std::unique_ptr<Leased>> workers;
    std::deque<std::shared_ptr<Pending>> queue;  // resolved, waiting for a worker with room
    int leasing = 0;                             // lease requests in flight
  };

  struct Dispatched {
    std::string key;
    Leased* worker;
    std::shared_ptr<Pending> task;
  };
  using Sends = std::vector<Dispatched>;
  using Returns = std::vector<std::unique_ptr<Leased>>;
  // The pool for `options` (made on first use); its key.
  std::string PoolFor(const TaskOptions& options);
  // Asks for as many workers as the queue needs (bounded); the calls run after unlocking.
  void MaybeLeaseLocked(const std::string& key, std::vector<std::string>& leases)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Lease(const std::string& key, proto::LeaseWorkerRequest request);
  void OnLeased(const std::string& key, const absl::Status& status,
                const proto::LeaseWorkerReply& reply);
  void Enqueue(const std::string& key, std::shared_ptr<Pending> task);
  // Enqueues the task once its reference arguments are resolved.
  void EnqueueWhenResolved(const std::string& key, std::shared_ptr<Pending> task);
  // How the task's stored result comes back when lost: the task runs again.
  ObjectTable::Rebuild Lineage(const std::string& key, std::shared_ptr<Pending> task);
  // True when the try failed because an argument of the task is lost: the argument is rebuilt
  // (or fails) and the task goes again once it is resolved.
  bool ArgumentLost(const std::string& key, const std::shared_ptr<Pending>& task,
                    const proto::CallResult& result);
  // Hands queued tasks to workers with room; the caller sends them after unlocking.
  void DispatchLocked(const std::string& key, Sends& out, std::vector<std::string>& leases)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendAll(Sends sends, const std::vector<std::string>& leases);
  void Send(const std::string& key, Leased* worker, std::shared_ptr<Pending> task);
  // True when `result` says the worker's stream broke (the process died or was cut off), not
  // that the worker failed the task.
  static bool WorkerLost(const proto::CallResult& result);
  // Queues the task again when its try failed in a way it may retry (worker lost; or threw,
  // with retry_exceptions) and it has retries left; otherwise leaves `result` to be reported.
  bool Retry(const std::string& key, const std::shared_ptr<Pending>& task,
             proto::CallResult& result, const std::string& address);
  // Takes out of their pools the workers to give back now.
  Returns IdleWorkersLocked(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void Return(std::unique_ptr<Leased> worker);
  void WatchIdle();

  Runtime& runtime_;
  absl::Mutex mu_;
  std::map<std::string, Pool> pools_ ABSL_GUARDED_BY(mu_);  // by resource shape
  // The tasks that may be unfinished, by result id, for Cancel; gone ones are pruned as it
  // grows.
  absl::flat_hash_map<std::string, std::weak_ptr<Pending>> by_result_ ABSL_GUARDED_BY(mu_);
  size_t by_result_kept_ ABSL_GUARDED_BY(mu_) = 1024;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread idle_watcher_;
};

}  // namespace weft::internal
