#include "worker/exception_info.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace weft::worker {
namespace {

std::string Demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? demangled.get() : name;
}

}  // namespace

ExceptionInfo DescribeException(std::exception_ptr error) {
  ExceptionInfo info;
  const std::type_info* type = abi::__cxa_current_exception_type();
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    type = abi::__cxa_current_exception_type();
    info.message = e.what();
  } catch (...) {
    type = abi::__cxa_current_exception_type();
    info.message = "(not a std::exception)";
  }
  info.type = type ? Demangle(type->name()) : "unknown";
  return info;
}

}  // namespace weft::worker
