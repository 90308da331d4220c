#include "worker/exception_info.h"

#include <cxxabi.h>

#include "weft/error.h"

namespace weft::worker {
namespace {

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
  for (const auto& hop : e.via()) error.add_via(hop);
  // Its class travels on: a nested ActorDiedError reaches the driver as one.
  if (dynamic_cast<const ActorDiedError*>(&e)) {
    error.set_kind(proto::FAILURE_ACTOR_DIED);
  } else if (dynamic_cast<const ActorUnavailableError*>(&e)) {
    error.set_kind(proto::FAILURE_ACTOR_UNAVAILABLE);
  } else if (dynamic_cast<const WorkerCrashedError*>(&e)) {
    error.set_kind(proto::FAILURE_WORKER_CRASHED);
  } else if (dynamic_cast<const ObjectLostError*>(&e)) {
    error.set_kind(proto::FAILURE_OBJECT_LOST);
  } else if (dynamic_cast<const OwnerDiedError*>(&e)) {
    error.set_kind(proto::FAILURE_OWNER_DIED);
  } else if (e.code() == 2) {
    error.set_kind(proto::FAILURE_USER_EXCEPTION);
  }
  return error;
}

}  // namespace

ExceptionInfo DescribeException(std::exception_ptr error) {
  ExceptionInfo info;
  const std::type_info* type = abi::__cxa_current_exception_type();
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    type = abi::__cxa_current_exception_type();
    info.message = e.message();
    info.nested = ToProto(e);
  } catch (const std::exception& e) {
    type = abi::__cxa_current_exception_type();
    info.message = e.what();
  } catch (...) {
    type = abi::__cxa_current_exception_type();
    info.message = "(not a std::exception)";
  }
  info.type = info.nested ? info.nested->type() : type ? internal::DemangledName(*type) : "unknown";
  return info;
}

}  // namespace weft::worker
