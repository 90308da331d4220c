#include "client/src/remote_failure.h"

#include <typeinfo>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/rpc.h"

namespace weft::internal {
namespace {

template <class E>
[[noreturn]] void Throw(const proto::RemoteError& e) {
  throw E(e.code(), e.type().empty() ? DemangledName(typeid(E)) : e.type(), e.message(),
          RemoteOrigin{e.actor_id(), e.class_name(), e.method(), e.node_id(), e.worker_id(),
                       e.pid(), e.call_name()},
          std::vector<std::string>(e.via().begin(), e.via().end()));
}

struct KindClass {
  proto::FailureKind kind;
  bool (*is)(const RemoteError&);
  void (*raise)(const proto::RemoteError&);  // never returns
};

template <class E>
KindClass Of(proto::FailureKind kind) {
  return {kind, [](const RemoteError& e) { return dynamic_cast<const E*>(&e) != nullptr; },
          &Throw<E>};
}

// Each kind with its exception class (weft/error.h).
const KindClass kKinds[] = {
    Of<ActorDiedError>(proto::FAILURE_ACTOR_DIED),
    Of<ActorUnavailableError>(proto::FAILURE_ACTOR_UNAVAILABLE),
    Of<WorkerCrashedError>(proto::FAILURE_WORKER_CRASHED),
    Of<ObjectLostError>(proto::FAILURE_OBJECT_LOST),
    Of<OwnerDiedError>(proto::FAILURE_OWNER_DIED),
    Of<ObjectStoreFullError>(proto::FAILURE_OBJECT_STORE_FULL),
    Of<MessageTooLargeError>(proto::FAILURE_MESSAGE_TOO_LARGE),
    Of<TaskCancelledError>(proto::FAILURE_CANCELLED),
};

}  // namespace

void ThrowRemote(const proto::RemoteError& error) {
  for (const auto& k : kKinds) {
    if (k.kind == error.kind()) k.raise(error);
  }
  Throw<RemoteError>(error);
}

proto::RemoteError ToProto(const RemoteError& e) {
  proto::RemoteError error;
  error.set_code(e.code());
  error.set_type(e.type());
  error.set_message(e.message());
  error.set_actor_id(e.origin().actor_id);
  error.set_class_name(e.origin().class_name);
  error.set_method(e.origin().method);
  error.set_node_id(e.origin().node_id);
  error.set_worker_id(e.origin().worker_id);
  error.set_pid(e.origin().pid);
  error.set_call_name(e.origin().call_name);
  for (const auto& hop : e.via()) error.add_via(hop);
  for (const auto& k : kKinds) {
    if (k.is(e)) {
      error.set_kind(k.kind);
      return error;
    }
  }
  if (e.code() == 2) error.set_kind(proto::FAILURE_USER_EXCEPTION);
  return error;
}

proto::RemoteError MessageTooLarge(const std::string& what, size_t bytes,
                                   const std::string& advice) {
  proto::RemoteError error;
  error.set_code(static_cast<int>(absl::StatusCode::kResourceExhausted));
  error.set_kind(proto::FAILURE_MESSAGE_TOO_LARGE);
  error.set_type("weft::MessageTooLargeError");
  error.set_message(absl::StrCat(what, " ", bytes, " bytes, over the cluster's message limit of ",
                                 MaxMessageBytes(), " bytes (the head's --max-message-size)",
                                 advice));
  return error;
}

}  // namespace weft::internal
