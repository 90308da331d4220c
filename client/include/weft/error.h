#pragma once

#include <stdexcept>
#include <string>

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

// What `Get` throws when the call behind a reference failed remotely: a user exception (code 2
// UNKNOWN, `type()` is its C++ type, e.g. "std::invalid_argument") or a system failure (actor
// dead, worker gone: its canonical code). what() reads
// "std::invalid_argument: bad input (in Counter.Add, actor 7f3a..., node 1c2d..., pid 4121)".
class RemoteError : public Error {
 public:
  RemoteError(int code, std::string type, std::string message, RemoteOrigin origin);

  const std::string& type() const { return type_; }
  const std::string& message() const { return message_; }  // the remote what(), unadorned
  const RemoteOrigin& origin() const { return origin_; }

 private:
  std::string type_;
  std::string message_;
  RemoteOrigin origin_;
};

}  // namespace weft
