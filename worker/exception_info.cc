#include "worker/exception_info.h"

#include <cxxabi.h>

#include "client/src/remote_failure.h"
#include "weft/error.h"

namespace weft::worker {

ExceptionInfo DescribeException(std::exception_ptr error) {
  ExceptionInfo info;
  const std::type_info* type = abi::__cxa_current_exception_type();
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    type = abi::__cxa_current_exception_type();
    info.message = e.message();
    info.nested = internal::ToProto(e);
  } catch (const CancelledError& e) {
    type = abi::__cxa_current_exception_type();
    info.message = e.what();
    info.cancelled = true;
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
