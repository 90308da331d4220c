#include "client/src/head_calls.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc.h"

namespace weft::internal {

std::string HeadUnavailable(const std::string& head_address, absl::string_view detail) {
  return absl::StrCat("head unavailable: the head at ", head_address, " did not answer for ",
                      absl::FormatDuration(absl::FromChrono(kHeadUnavailableWait)), " (", detail,
                      ")");
}

grpc::Status CallHead(const std::string& head_address,
                      const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  const absl::Time give_up = absl::Now() + absl::FromChrono(kHeadUnavailableWait);
  auto pause = std::chrono::milliseconds(100);
  for (;;) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);  // a restarting head: wait for it to listen again
    SetTimeout(context, kControlRpcTimeout);
    grpc::Status status = call(context);
    const bool away = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!away) return status;
    if (absl::Now() >= give_up) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          HeadUnavailable(head_address, status.error_message()));
    }
    std::this_thread::sleep_for(pause);  // a head that refuses at once: try again soon
    pause = std::min(2 * pause, std::chrono::milliseconds(1000));
  }
}

std::optional<std::chrono::milliseconds> StreamReopener::Next(Clock::time_point opened) {
  const auto now = Clock::now();
  const bool was_held = now - opened > std::chrono::seconds(1);
  if (was_held || failing_since_ == Clock::time_point{}) failing_since_ = now;
  if (now - failing_since_ > kHeadUnavailableWait) return std::nullopt;
  return was_held ? std::chrono::milliseconds(0) : std::chrono::milliseconds(500);
}

}  // namespace weft::internal
