#pragma once

// Creating actors, calling them, finding and killing them.
//
//   auto counter = weft::Actor<Counter>({.name = "c", .max_concurrency = 2}).Remote(10);
//   weft::ObjectRef<int> total = counter.Call(&Counter::Add, 5);
//
// Calls from one caller reach the actor in submission order.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "weft/call_args.h"
#include "weft/generator.h"
#include "weft/registry.h"
#include "weft/stable_string.h"

namespace weft {

struct ActorOptions {
  std::string name;         // empty: anonymous; else unique among live actors of the namespace
  std::string ns;           // namespace of the name; empty: the driver's namespace
  int max_concurrency = 0;  // 0: async actors 1000, thread-pool actors 1
  double num_cpus = 0;      // CPUs held while the actor lives (its own worker process if > 0)
  std::map<std::string, double> resources;  // custom resources held, e.g. {"GPU", 1}
  bool detached = false;                    // outlives the driver's job; kill it with weft::Kill
  bool get_if_exists = false;               // return the live actor of that name instead of failing
  int max_pending_calls = -1;               // calls this handle may have unfinished; -1: no limit
  bool dedicated_process = false;           // a worker process of its own even without resources
  // Times the actor is re-created (constructor re-run with the same arguments, same id and
  // name) when its worker or node dies, as Ray's max_restarts; -1: no limit. Calls made while
  // it restarts wait for it.
  int max_restarts = 0;
  // Calls in flight when the actor died are sent again after its restart, in their order, up
  // to this many times each (-1: no limit); with 0 they throw ActorUnavailableError (they may
  // or may not have run). Completed calls never run again.
  int max_task_retries = 0;
};

// Options of the calls made through a handle: `actor.Options({...}).Call(...)`, as Ray's
// `actor.method.options(...)`.
struct CallOptions {
  // The concurrency group the calls run in instead of their method's (see
  // ActorClass::ConcurrencyGroup); empty: the method's own.
  StableString concurrency_group;
  // Times a call is sent again when the actor's copy that had it is lost (see
  // ActorOptions::max_task_retries; -1: no limit); unset: the actor's.
  std::optional<int> max_task_retries;
  // Generator methods (weft/generator.h): how many items the producer may run ahead of what
  // the caller has taken. A streaming call is not sent again (its items were taken).
  int stream_window = 64;
  // A name for the calls, as Ray's `.options(name=...)`: their output lines are prefixed with
  // it instead of the class name ("(fetch-3 pid=4121) ..."), and their errors name it.
  StableString name;
};

struct KillOptions {
  bool no_restart = true;  // false: restart the actor instead (counts against max_restarts)
};

namespace internal {
// client/src/actor_api.cc
struct ActorId {
  std::string id;
  std::string class_name;
};
// A fresh caller identity: calls keep their order per caller (a handle and its copies).
uint64_t NewCaller();
ActorId CreateActor(const ClassInfo& cls, const ActorOptions& options, std::string args);
ActorId LookupActor(const std::string& name, const std::string& ns, const ClassInfo& cls);
// `stream`: the method is a generator, whose items stream back (weft/generator.h).
std::string SubmitActorCall(const ActorId& actor, uint64_t caller, const std::string& method,
                            const CallOptions& options, std::vector<CallArg> args,
                            bool stream = false);
// Throws weft::Error INVALID_ARGUMENT for a concurrency group that `cls` does not declare, or
// max_task_retries below -1.
void CheckCallOptions(const ClassInfo& cls, const CallOptions& options);
void KillActor(const std::string& actor_id, bool restart);
// Before a handle leaves this process: waits until the head has the actor (its creation is not
// waited for by Remote()), so that the process receiving it finds the actor there.
void BeforeHandleTravels(const std::string& actor_id);
}  // namespace internal

// A copyable handle to a live actor of class C. Thread-safe. Calls made through one handle
// (or its copies) reach the actor in the order they were made; calls through another handle
// (another GetActor, a handle received in a value) are another caller's and do not wait for
// them.
template <class C>
class ActorHandle {
 public:
  ActorHandle() : caller_(internal::NewCaller()) {}
  explicit ActorHandle(internal::ActorId id) : id_(std::move(id)), caller_(internal::NewCaller()) {}

  const std::string& id() const { return id_.id; }

  // A copy of this handle (the same caller: calls keep their order with this handle's) whose
  // calls take `options`. Throws weft::Error INVALID_ARGUMENT for a concurrency group that
  // the class does not declare, or max_task_retries below -1.
  ActorHandle Options(CallOptions options) const {
    internal::CheckCallOptions(*internal::FindClassByType(typeid(C)), options);
    ActorHandle copy = *this;
    copy.options_ = std::move(options);
    return copy;
  }

  // Calls `method` with `args` and returns a reference to its result (for a method returning
  // weft::Generator<T>, the stream of its items: weft/generator.h). The method must be
  // registered with ActorClass<C>::Method. Arguments are checked at compile time. Throws
  // weft::Error (RESOURCE_EXHAUSTED) when max_pending_calls calls are unfinished.
  template <class M, class... A>
  typename internal::CallResult<typename internal::MethodTraits<M>::Result>::type Call(
      M method, A&&... args) const {
    using T = internal::MethodTraits<M>;
    static_assert(std::is_base_of_v<typename T::Class, C>,
                  "weft: this method does not belong to the actor's class");
    auto wire = internal::MakeArgs<typename T::Params>(std::forward<A>(args)...);
    const auto& cls = *internal::FindClassByType(typeid(C));
    const auto& name = internal::MethodName(cls, typeid(M), &method, sizeof(method));
    return typename internal::CallResult<typename T::Result>::type(
        internal::SubmitActorCall(id_, caller_, name, options_, std::move(wire), T::kStream),
        internal::Adopt{});
  }

  // The handle travels as [id, class name] (MSGPACK_DEFINE's form).
  template <typename Packer>
  void msgpack_pack(Packer& packer) const {
    internal::BeforeHandleTravels(id_.id);
    msgpack::type::make_define_array(id_.id, id_.class_name).msgpack_pack(packer);
  }
  void msgpack_unpack(const msgpack::object& object) {
    msgpack::type::make_define_array(id_.id, id_.class_name).msgpack_unpack(object);
  }
  template <typename Object>
  void msgpack_object(Object* object, msgpack::zone& zone) const {
    msgpack::type::make_define_array(id_.id, id_.class_name).msgpack_object(object, zone);
  }

 private:
  internal::ActorId id_;
  uint64_t caller_;
  CallOptions options_;  // not sent with the handle: a handle received has the defaults
};

// Creates actors of class C: `weft::Actor<C>(options).Remote(constructor args...)`.
template <class C>
class Actor {
 public:
  explicit Actor(ActorOptions options = {}) : options_(std::move(options)) {}

  // Starts creating the actor and returns its handle at once; calls made before it is ready
  // wait for it. Throws weft::Error: NOT_FOUND (C not registered), ALREADY_EXISTS (name taken
  // and not get_if_exists), INVALID_ARGUMENT (bad options).
  template <class... A>
  ActorHandle<C> Remote(A&&... args) const {
    static_assert(std::is_constructible_v<C, std::decay_t<A>...>,
                  "weft: the actor class has no constructor taking these arguments");
    const auto& cls = *internal::FindClassByType(typeid(C));
    std::string packed = Pack(std::make_tuple(std::decay_t<A>(std::forward<A>(args))...));
    return ActorHandle<C>(internal::CreateActor(cls, options_, std::move(packed)));
  }

 private:
  ActorOptions options_;
};

// The live actor named `name` (in `ns`, or the driver's namespace). Throws weft::Error
// NOT_FOUND, or INVALID_ARGUMENT if that actor is not of class C.
template <class C>
ActorHandle<C> GetActor(const std::string& name, const std::string& ns = "") {
  return ActorHandle<C>(internal::LookupActor(name, ns, *internal::FindClassByType(typeid(C))));
}

// Kills the actor, as ray.kill: its queued and running calls fail at once with
// ActorDiedError, and so do later calls. With {.no_restart = false} it is restarted instead
// (if it has restarts left): calls in flight fail (or are sent again, per max_task_retries)
// and later calls wait for the new copy.
template <class C>
void Kill(const ActorHandle<C>& actor, KillOptions options = {}) {
  internal::KillActor(actor.id(), !options.no_restart);
}

}  // namespace weft
