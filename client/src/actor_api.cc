// The actor functions that the public templates of actor.h call.

#include <atomic>
#include <random>

#include "absl/strings/str_cat.h"
#include "client/src/actor_calls.h"
#include "client/src/actor_creator.h"
#include "client/src/head_calls.h"
#include "client/src/remote_failure.h"
#include "client/src/runtime.h"
#include "client/src/wire_args.h"
#include "common/actor_spec.h"
#include "common/ids.h"
#include "common/rpc.h"
#include "common/status.h"
#include "weft/actor.h"

namespace weft::internal {
namespace {

[[noreturn]] void Throw(const grpc::Status& status, const std::string& what) {
  const absl::Status failed = FromGrpcStatus(status);
  throw Error(static_cast<int>(failed.code()), absl::StrCat(what, ": ", failed.message()));
}

}  // namespace

ActorId CreateActor(const ClassInfo& cls, const ActorOptions& options, std::string args) {
  if (std::string error = ConcurrencyGroupsError(cls); !error.empty()) throw Error(3, error);
  auto& runtime = Runtime::Get();
  proto::CreateActorRequest request;
  auto& spec = *request.mutable_spec();
  spec.set_actor_id(RandomHex(8));  // ours: a request sent again finds the same actor
  spec.set_class_name(cls.name);
  spec.set_job_id(runtime.config().job_id);
  spec.set_constructor_args(std::move(args));
  *spec.mutable_code() = runtime.config().code;
  spec.set_max_concurrency(options.max_concurrency);
  spec.set_name(options.name);
  spec.set_namespace_(options.ns.empty() ? runtime.config().ns : options.ns);
  if (options.num_cpus > 0) (*spec.mutable_resources())["CPU"] = options.num_cpus;
  for (const auto& [name, amount] : options.resources) (*spec.mutable_resources())[name] = amount;
  spec.set_detached(options.detached);
  spec.set_dedicated_process(options.dedicated_process);
  spec.set_max_pending_calls(options.max_pending_calls);
  spec.set_max_restarts(options.max_restarts);
  spec.set_max_task_retries(options.max_task_retries);
  request.set_get_if_exists(options.get_if_exists);
  // Refused by the head, a message over the limit would name no flag: it fails here, with room
  // for what the head adds on its way to the worker.
  if (request.ByteSizeLong() + kEnvelopeBytes > static_cast<size_t>(MaxMessageBytes())) {
    ThrowRemote(ArgumentsTooLarge(cls.name + " (its constructor)", spec.constructor_args().size()));
  }

  if (spec.name().empty()) {
    // Not waited for, as in Ray: calls queue until the head has it, and a creation the head
    // refuses fails them (the head's checks are made here first, so that a bad option throws).
    if (absl::Status invalid = CheckActorSpec(spec); !invalid.ok()) {
      throw Error(static_cast<int>(invalid.code()),
                  absl::StrCat("cannot create actor of class ", cls.name, ": ", invalid.message()));
    }
    const std::string id = spec.actor_id();
    const int max_pending_calls = options.max_pending_calls;
    runtime.actors().Creating(id, cls.name, max_pending_calls, spec.max_task_retries());
    runtime.creator().Create(std::move(request), [&runtime, id, name = cls.name, max_pending_calls](
                                                     absl::StatusOr<proto::ActorInfo> info) {
      if (info.ok()) return runtime.actors().Track(*info, max_pending_calls);
      runtime.actors().MarkDead(
          id, absl::StrCat("its creation failed: cannot create actor of class ", name, ": ",
                           info.status().message()));
    });
    return ActorId{id, cls.name};
  }
  // A named actor is registered before Remote returns: a name taken throws here, and the name
  // finds the actor at once (GetActor).
  proto::CreateActorReply reply;
  const grpc::Status status =
      CallHead(runtime.config().head_address, [&](grpc::ClientContext& context) {
        return runtime.actor_directory().CreateActor(&context, request, &reply);
      });
  if (!status.ok()) Throw(status, absl::StrCat("cannot create actor of class ", cls.name));
  runtime.actors().Track(reply.actor(), options.max_pending_calls);
  return ActorId{reply.actor().actor_id(), cls.name};
}

ActorId LookupActor(const std::string& name, const std::string& ns, const ClassInfo& cls) {
  auto& runtime = Runtime::Get();
  proto::GetActorRequest request;
  request.set_name(name);
  request.set_namespace_(ns.empty() ? runtime.config().ns : ns);
  proto::GetActorReply reply;
  const grpc::Status status =
      CallHead(runtime.config().head_address, [&](grpc::ClientContext& context) {
        return runtime.actor_directory().GetActor(&context, request, &reply);
      });
  if (!status.ok()) {
    Throw(status, absl::StrCat("cannot get actor named \"", name, "\" in namespace ",
                               request.namespace_()));
  }
  if (reply.actor().class_name() != cls.name) {
    throw Error(3, absl::StrCat("actor \"", name, "\" is of class ", reply.actor().class_name(),
                                ", not ", cls.name));
  }
  runtime.actors().Track(reply.actor(), -1);
  return ActorId{reply.actor().actor_id(), cls.name};
}

void BeforeHandleTravels(const std::string& actor_id) {
  if (auto* runtime = Runtime::Current()) runtime->creator().WaitAnswered(actor_id);
}

uint64_t NewCaller() {
  // Unique within the process; callers of different processes differ by their streams, and
  // the random start keeps them apart where a worker meets several processes.
  static std::atomic<uint64_t> next{uint64_t{std::random_device()()} << 32};
  return ++next;
}

std::string SubmitActorCall(const ActorId& actor, uint64_t caller, const std::string& method,
                            const CallOptions& options, std::vector<CallArg> args, bool stream) {
  return Runtime::Get().actors().Submit(actor.id, actor.class_name, caller, method, options,
                                        std::move(args), stream);
}

void CheckCallOptions(const ClassInfo& cls, const CallOptions& options) {
  if (options.max_task_retries && *options.max_task_retries < -1) {
    throw Error(3, absl::StrCat("max_task_retries must be -1 (no limit) or more, got ",
                                *options.max_task_retries));
  }
  const std::string& group = options.concurrency_group.str();
  if (group.empty()) return;
  for (const auto& [name, limit] : cls.groups) {
    if (name == group) return;
  }
  throw Error(3, absl::StrCat("actor class ", cls.name, " has no concurrency group \"", group,
                              "\" (declare it with .ConcurrencyGroup(\"", group, "\", N))"));
}

void KillActor(const std::string& actor_id, bool restart) {
  auto& runtime = Runtime::Get();
  runtime.creator().WaitAnswered(actor_id);       // the head knows the actor, or it is dead here
  if (runtime.actors().IsDead(actor_id)) return;  // its creation failed: nothing to kill
  proto::KillActorRequest request;
  request.set_actor_id(actor_id);
  request.set_reason(restart ? "killed by weft::Kill to restart" : "killed by weft::Kill");
  request.set_restart(restart);
  proto::KillActorReply reply;
  const grpc::Status status =
      CallHead(runtime.config().head_address, [&](grpc::ClientContext& context) {
        return runtime.actor_directory().KillActor(&context, request, &reply);
      });
  if (!status.ok()) Throw(status, absl::StrCat("cannot kill actor ", actor_id));
  if (reply.actor().state() == proto::ACTOR_DEAD) {
    runtime.actors().MarkDead(actor_id, reply.actor().death_reason());
  } else {
    runtime.actors().Update(reply.actor());  // restarting: calls in flight are lost or resent
  }
}

}  // namespace weft::internal
