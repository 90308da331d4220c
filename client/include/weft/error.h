#pragma once

#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

namespace weft {

// The canonical status codes (gRPC's and Abseil's) that weft::Error carries.
enum class ErrorCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,  // a user exception (RemoteError with type())
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,  // a Get or Wait timed out
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,  // e.g. max_pending_calls reached
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,  // an actor, worker, node or owner is gone or cannot be reached
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Thrown by the client API when the cluster cannot do what was asked. `code()` is the
// canonical status code as an integer (e.g. 5 NOT_FOUND, 14 UNAVAILABLE); `error_code()` is
// the same as a name. The classes below tell the common failures apart.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }
  ErrorCode error_code() const { return static_cast<ErrorCode>(code_); }

 private:
  int code_;
};

// Thrown inside a call its caller cancelled (weft::Cancel): at the `co_await` a coroutine is
// suspended at, or at its next one, so that its frames unwind (their destructors run). Catch it
// to clean up; let it escape, or throw it from code that saw weft::CancelRequested(), and the
// caller's Get throws TaskCancelledError. A call that returns a value after catching it
// returns that value.
class CancelledError : public Error {
 public:
  explicit CancelledError(const std::string& message = "the call was cancelled")
      : Error(static_cast<int>(ErrorCode::kCancelled), message) {}
};

// Get(timeout) or Wait ran out of time (DEADLINE_EXCEEDED). The object may still come.
class GetTimeoutError : public Error {
 public:
  explicit GetTimeoutError(const std::string& message)
      : Error(static_cast<int>(ErrorCode::kDeadlineExceeded), message) {}
};

// An actor handle has max_pending_calls calls unfinished (RESOURCE_EXHAUSTED); nothing was sent.
class PendingCallsLimitError : public Error {
 public:
  explicit PendingCallsLimitError(const std::string& message)
      : Error(static_cast<int>(ErrorCode::kResourceExhausted), message) {}
};

// Where a remote failure happened.
struct RemoteOrigin {
  std::string actor_id;    // empty for a task
  std::string class_name;  // actor class, or function name for a task
  std::string method;
  std::string node_id;
  std::string worker_id;
  int pid = 0;
  std::string call_name;  // the call's name (CallOptions::name), if it had one
};

namespace internal {
std::string DemangledName(const std::type_info& type);  // e.g. "std::invalid_argument"
}

// What `Get` throws when the call behind a reference failed remotely: a user exception (code 2
// UNKNOWN, `type()` is its C++ type, e.g. "std::invalid_argument") or a system failure, thrown
// as one of the subclasses below where it is one of those (actor died, worker crashed...), with
// `type()` naming that class. what() reads
// "std::invalid_argument: bad input (in Counter.Add, actor 7f3a..., node 1c2d..., pid 4121)".
//
// Through a chain of calls (a method that Gets another call's result and lets its RemoteError
// escape) the error keeps the type, message and origin of where it was thrown, and its class;
// `via()` lists the calls that passed it on, and what() ends with them.
class RemoteError : public Error {
 public:
  RemoteError(int code, std::string type, std::string message, RemoteOrigin origin,
              std::vector<std::string> via = {});

  const std::string& type() const { return type_; }        // never empty
  const std::string& message() const { return message_; }  // the remote what(), unadorned
  const RemoteOrigin& origin() const { return origin_; }
  // The calls that passed the error on, innermost first: "Class.method (actor id, pid N)".
  const std::vector<std::string>& via() const { return via_; }

  // True when the remote exception was exactly of type E: `e.Is<std::domain_error>()`.
  template <class E>
  bool Is() const {
    return type_ == internal::DemangledName(typeid(E));
  }

 private:
  std::string type_;
  std::string message_;
  RemoteOrigin origin_;
  std::vector<std::string> via_;
};

// The actor is dead for good: killed, its worker or node died with no restarts left, its owner
// (driver) died, or its constructor failed. The message says which.
class ActorDiedError : public RemoteError {
  using RemoteError::RemoteError;
};
// The actor is restarting, or the connection to it was lost: the call may or may not have run.
class ActorUnavailableError : public RemoteError {
  using RemoteError::RemoteError;
};
// The worker process running a task died (after its retries, if any).
class WorkerCrashedError : public RemoteError {
  using RemoteError::RemoteError;
};
// The object's bytes are gone: the worker that stored them died.
class ObjectLostError : public RemoteError {
  using RemoteError::RemoteError;
};
// The process that owns the reference (the one that made the call) died before answering.
class OwnerDiedError : public RemoteError {
  using RemoteError::RemoteError;
};
// The result is larger than its node's whole object store (--object-store-memory) and can
// never be kept; the message names the limit. (Results that merely do not fit now spill.)
class ObjectStoreFullError : public RemoteError {
  using RemoteError::RemoteError;
};
// The call was cancelled (weft::Cancel, CANCELLED): before it started, or it ended in
// weft::CancelledError, or (force) its task's worker was killed. The message says which.
class TaskCancelledError : public RemoteError {
  using RemoteError::RemoteError;
};
// The call's arguments passed by value weigh more than the cluster's largest message (the
// head's --max-message-size, 512 MiB by default): it was not sent, and fails alone (calls
// queued beside it go on). The message names the sizes and the flag.
class MessageTooLargeError : public RemoteError {
  using RemoteError::RemoteError;
};

}  // namespace weft
