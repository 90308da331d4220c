#pragma once

// Remote tasks: stateless functions run on workers across the cluster.
//
//   int Add(int a, int b) { return a + b; }
//   static const bool kAdd = weft::RemoteFunction("Add", &Add);   // in the shared library
//   weft::ObjectRef<int> sum = weft::Task(&Add).Remote(1, 2);      // in the driver
//
// A coroutine function (returning weft::Async<T>) cannot be a task: wrap it, see RunSync.

#include <map>
#include <string>

#include "weft/call_args.h"
#include "weft/stable_string.h"
#include "weft/generator.h"
#include "weft/registry.h"

namespace weft {

struct TaskOptions {
  double num_cpus = 1;  // CPUs the task's worker holds
  std::map<std::string, double> resources;
  // Times the task is run again when its worker process dies (or is cut off) while running it,
  // as Ray's max_retries (default 3); -1: no limit. Past them, Get throws WorkerCrashedError.
  int max_retries = 3;
  bool retry_exceptions = false;  // also run it again when it throws (within max_retries)
  // Generator tasks (weft/generator.h): how many items the producer may run ahead of what the
  // caller has taken. A generator task is not run again (its items were taken).
  int stream_window = 64;
  // A name for the task's run, as Ray's `.options(name=...)`: its output lines are prefixed
  // with it instead of the function's name, and its errors name it.
  StableString name;
};

namespace internal {
std::string SubmitTask(const FunctionInfo& function, const TaskOptions& options,
                       std::vector<CallArg> args);  // client/src/task_api.cc
}

template <class F>
class Task {
 public:
  explicit Task(F function, TaskOptions options = {}) : function_(function), options_(options) {
    static_assert(RejectAsyncTask<F>::value);
  }

  // A reference to the task's result; for a task returning weft::Generator<T>, the stream of
  // its items (weft/generator.h).
  template <class... A>
  typename internal::CallResult<typename internal::FunctionTraits<F>::Result>::type Remote(
      A&&... args) const {
    using T = internal::FunctionTraits<F>;
    auto wire = internal::MakeArgs<typename T::Params>(std::forward<A>(args)...);
    const auto* info = internal::FindFunctionByPointer(reinterpret_cast<const void*>(function_));
    return typename internal::CallResult<typename T::Result>::type(
        internal::SubmitTask(*info, options_, std::move(wire)), internal::Adopt{});
  }

 private:
  F function_;
  TaskOptions options_;
};

}  // namespace weft
