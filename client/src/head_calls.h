#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string>

namespace weft::internal {

// One blocking control-plane call to the head, waiting out a head that is down or restarting
// (see README "When things fail"): each attempt waits for the connection up to
// kControlRpcTimeout, and an UNAVAILABLE or DEADLINE_EXCEEDED answer is tried again until
// kHeadUnavailableWait has passed; the last failure then reads "head unavailable: ...".
// `call` issues the call on the context it is given; it must be safe to send twice.
grpc::Status CallHead(const std::string& head_address,
                      const std::function<grpc::Status(grpc::ClientContext&)>& call);

}  // namespace weft::internal
