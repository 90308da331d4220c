#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "head.pb.h"
#include "worker.pb.h"
#include "weft/call_args.h"
#include "weft/task.h"

namespace weft::internal {

class Runtime;

// Remote tasks of this process: leases task workers from the head's scheduler (one per
// distinct resource shape, grown while tasks queue up) and sends each task, once its
// reference arguments are resolved, to the worker with the fewest unfinished tasks.
class TaskCalls {
 public:
  explicit TaskCalls(Runtime& runtime) : runtime_(runtime) {}
  ~TaskCalls();

  // Returns the id of the task's result object. Throws weft::Error when no worker can be had.
  std::string Submit(const FunctionInfo& function, const TaskOptions& options,
                     std::vector<CallArg> args);

 private:
  struct Leased {
    std::string address;
    std::string worker_id;
    std::string node_address;
    int unfinished = 0;
  };
  Leased& PickWorker(const TaskOptions& options);
  void Send(Leased* worker, proto::Call call, std::vector<CallArg> args, std::string object_id);

  Runtime& runtime_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Leased>> workers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::internal
