#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "head.pb.h"
#include "weft/call_args.h"
#include "weft/task.h"
#include "worker.pb.h"

namespace weft::internal {

class Runtime;

// Remote tasks of this process. Per resource shape it leases task workers from the head's
// scheduler: the first when the first task comes, more (in the background, on any node with
// room) while every leased worker is busy. Tasks whose reference arguments are resolved wait
// in the shape's queue and go to a worker with room (at most kBusyTasks unfinished each), so
// a worker that joins late takes its share. The workers end with the job.
class TaskCalls {
 public:
  explicit TaskCalls(Runtime& runtime) : runtime_(runtime) {}

  // Returns the id of the task's result object. Throws weft::Error when no worker can be had
  // within a minute (e.g. no node offers the resources).
  std::string Submit(const FunctionInfo& function, const TaskOptions& options,
                     std::vector<CallArg> args);

 private:
  struct Leased {
    std::string address;
    int unfinished = 0;
  };
  struct Pending {
    proto::Call call;
    std::vector<CallArg> args;
    std::string object_id;
  };
  struct Pool {
    proto::LeaseWorkerRequest lease;
    std::vector<std::unique_ptr<Leased>> workers;
    std::deque<std::shared_ptr<Pending>> queue;  // resolved, waiting for a worker with room
    bool growing = false;
    std::chrono::steady_clock::time_point next_growth;  // after a refused lease, wait a bit
  };

  using Sends = std::vector<std::pair<Leased*, std::shared_ptr<Pending>>>;
  // The pool for `options` (leasing its first worker if it has none); its key.
  std::string PoolFor(const TaskOptions& options);
  void LeaseFirst(Pool& pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeGrow(Pool& pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(const std::string& key, std::shared_ptr<Pending> task);
  // Hands queued tasks to workers with room; the caller sends them after unlocking.
  void DispatchLocked(const std::string& key, Sends& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(const std::string& key, Leased* worker, std::shared_ptr<Pending> task);

  Runtime& runtime_;
  absl::Mutex mu_;
  std::map<std::string, Pool> pools_ ABSL_GUARDED_BY(mu_);  // by resource shape
};

}  // namespace weft::internal
