#pragma once

#include <exception>
#include <string>

namespace weft::worker {

struct ExceptionInfo {
  std::string type;     // demangled C++ type, e.g. "std::invalid_argument"
  std::string message;  // what(), or a note when the type is not a std::exception
};

// What a user's method threw, for the caller's RemoteError.
ExceptionInfo DescribeException(std::exception_ptr error);

}  // namespace weft::worker
