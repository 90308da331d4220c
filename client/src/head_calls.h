#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace weft::internal {

// One blocking control-plane call to the head, waiting out a head that is down or restarting
// (see README "When things fail"): each attempt waits for the connection up to
// kControlRpcTimeout, and an UNAVAILABLE or DEADLINE_EXCEEDED answer is tried again until
// kHeadUnavailableWait has passed; the last failure then reads "head unavailable: ...".
// `call` issues the call on the context it is given; it must be safe to send twice.
// "head unavailable: the head at ADDRESS did not answer for 1m (DETAIL)": what a caller that
// gave up on the head after kHeadUnavailableWait says.
std::string HeadUnavailable(const std::string& head_address, absl::string_view detail);

grpc::Status CallHead(const std::string& head_address,
                      const std::function<grpc::Status(grpc::ClientContext&)>& call);

// When to open again a stream (a job's, its worker output's) that broke because the head went
// away: at once after a stream that was held (open for a second or more), every half second
// while the head stays away, and no more once it has been away for kHeadUnavailableWait.
class StreamReopener {
 public:
  using Clock = std::chrono::steady_clock;
  // The stream opened at `opened` broke with UNAVAILABLE just now: the pause before opening it
  // again, or nothing when it is time to give up.
  std::optional<std::chrono::milliseconds> Next(Clock::time_point opened);

 private:
  Clock::time_point failing_since_{};
};

}  // namespace weft::internal
