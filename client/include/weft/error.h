#pragma once

#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

namespace weft {

// Thrown by the client API when the cluster cannot do what was asked. `code()` is the
// canonical gRPC/Abseil status code (e.g. 5 NOT_FOUND, 14 UNAVAILABLE, 16 UNAUTHENTICATED).
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Where a remote failure happened.
struct RemoteOrigin {
  std::string actor_id;    // empty for a task
  std::string class_name;  // actor class, or function name for a task
  std::string method;
  std::string node_id;
  std::string worker_id;
  int pid = 0;
};

namespace internal {
std::string DemangledName(const std::type_info& type);  // e.g. "std::invalid_argument"
}

// What `Get` throws when the call behind a reference failed remotely: a user exception (code 2
// UNKNOWN, `type()` is its C++ type, e.g. "std::invalid_argument") or a system failure (actor
// dead, worker gone: its canonical code). what() reads
// "std::invalid_argument: bad input (in Counter.Add, actor 7f3a..., node 1c2d..., pid 4121)".
//
// Through a chain of calls (a method that Gets another call's result and lets its RemoteError
// escape) the error keeps the type, message and origin of where it was thrown; `via()` lists
// the calls that passed it on, and what() ends with them.
class RemoteError : public Error {
 public:
  RemoteError(int code, std::string type, std::string message, RemoteOrigin origin,
              std::vector<std::string> via = {});

  const std::string& type() const { return type_; }
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

}  // namespace weft
