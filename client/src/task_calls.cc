#include "client/src/task_calls.h"

#include "absl/strings/str_cat.h"
#include "client/src/runtime.h"
#include "client/src/wire_args.h"
#include "common/rpc.h"
#include "common/status.h"
#include "node.grpc.pb.h"
#include "weft/error.h"

namespace weft::internal {

TaskCalls::~TaskCalls() {
  // Task workers belong to this job; the head ends them when the job finishes.
}

TaskCalls::Leased& TaskCalls::PickWorker(const TaskOptions& options) {
  absl::MutexLock lock(&mu_);
  if (!workers_.empty()) {
    Leased* best = workers_.front().get();
    for (auto& w : workers_) {
      if (w->unfinished < best->unfinished) best = w.get();
    }
    return *best;
  }
  proto::LeaseWorkerRequest request;
  request.set_job_id(runtime_.config().job_id);
  if (options.num_cpus > 0) (*request.mutable_required())["CPU"] = options.num_cpus;
  for (const auto& [name, amount] : options.resources) (*request.mutable_required())[name] = amount;
  grpc::ClientContext context;
  SetTimeout(context, kControlRpcTimeout * 8);
  proto::LeaseWorkerReply reply;
  const grpc::Status status = runtime_.scheduler().LeaseWorker(&context, request, &reply);
  if (!status.ok()) {
    const absl::Status failed = FromGrpcStatus(status);
    throw Error(static_cast<int>(failed.code()),
                absl::StrCat("cannot start a task worker: ", failed.message()));
  }
  auto leased = std::make_unique<Leased>();
  leased->address = reply.worker().address();
  leased->worker_id = reply.worker().worker_id();
  leased->node_address = reply.node_address();
  workers_.push_back(std::move(leased));
  return *workers_.back();
}

std::string TaskCalls::Submit(const FunctionInfo& function, const TaskOptions& options,
                              std::vector<CallArg> args) {
  Leased& worker = PickWorker(options);
  const std::string object_id = ObjectTable::NewId();
  runtime_.objects().AddPending(object_id);
  proto::Call call;
  call.set_method(function.name);
  call.set_job_id(runtime_.config().job_id);
  call.set_result_id(object_id);
  for (const auto& path : runtime_.config().code_paths) call.add_code_paths(path);
  {
    absl::MutexLock lock(&mu_);
    ++worker.unfinished;
  }
  if (ArgsResolved(runtime_.objects(), args)) {
    Send(&worker, std::move(call), std::move(args), object_id);
  } else {
    // Sent once the last reference resolves; tasks need no ordering among themselves.
    auto state = std::make_shared<std::tuple<proto::Call, std::vector<CallArg>, bool>>(
        std::move(call), args, false);
    OnArgResolved(runtime_.objects(), args, [this, &worker, state, object_id] {
      auto& [pending_call, pending_args, sent] = *state;
      {
        absl::MutexLock lock(&mu_);
        if (sent || !ArgsResolved(runtime_.objects(), pending_args)) return;
        sent = true;
      }
      Send(&worker, pending_call, pending_args, object_id);
    });
  }
  return object_id;
}

void TaskCalls::Send(Leased* worker, proto::Call call, std::vector<CallArg> args,
                     std::string object_id) {
  auto& objects = runtime_.objects();
  auto finish = [this, worker] {
    absl::MutexLock lock(&mu_);
    --worker->unfinished;
  };
  proto::RemoteError failed;
  if (!BuildArgs(objects, args, call.mutable_args(), &failed)) {
    finish();
    objects.SetError(object_id, std::move(failed));
    return;
  }
  runtime_.workers().Submit(worker->address, std::move(call),
                            [this, finish, object_id](proto::CallResult& result) {
                              auto& objects = runtime_.objects();
                              finish();
                              switch (result.outcome_case()) {
                                case proto::CallResult::kValue:
                                  objects.SetValue(object_id, std::move(*result.mutable_value()));
                                  break;
                                case proto::CallResult::kStored:
                                  objects.SetLocation(object_id,
                                                      std::move(*result.mutable_stored()));
                                  break;
                                default:
                                  objects.SetError(object_id, std::move(*result.mutable_error()));
                              }
                            });
}

std::string SubmitTask(const FunctionInfo& function, const TaskOptions& options,
                       std::vector<CallArg> args) {
  return Runtime::Get().tasks().Submit(function, options, std::move(args));
}

}  // namespace weft::internal
