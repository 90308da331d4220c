#include "common/in_flight.h"

namespace weft {

bool InFlight::Add(grpc::ClientContext* call) {
  std::lock_guard lock(mu_);
  if (closing_) return false;
  calls_.insert(call);
  return true;
}

void InFlight::Remove(grpc::ClientContext* call, const std::function<void()>& release) {
  std::lock_guard lock(mu_);
  calls_.erase(call);
  if (release) release();
  removed_.notify_all();
}

bool InFlight::closing() {
  std::lock_guard lock(mu_);
  return closing_;
}

void InFlight::CancelAllAndWait() {
  std::unique_lock lock(mu_);
  closing_ = true;
  for (auto* call : calls_) call->TryCancel();
  removed_.wait(lock, [&] { return calls_.empty(); });
}

}  // namespace weft
