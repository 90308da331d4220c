#pragma once

#include <exception>
#include <optional>
#include <string>

#include "common.pb.h"

namespace weft::worker {

struct ExceptionInfo {
  std::string type;     // demangled C++ type, e.g. "std::invalid_argument"
  std::string message;  // what(), or a note when the type is not a std::exception
  // Set when the exception is a weft::RemoteError let through from a nested call: the error
  // as it was thrown where it started (its type, message, origin and the calls it passed).
  std::optional<proto::RemoteError> nested;
  bool cancelled = false;  // a weft::CancelledError: the call was cancelled
};

// What a user's method threw, for the caller's RemoteError.
ExceptionInfo DescribeException(std::exception_ptr error);

}  // namespace weft::worker
