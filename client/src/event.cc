#include "weft/async.h"

#include "client/src/call_token.h"

namespace weft {

void Event::Set() {
  std::vector<std::shared_ptr<internal::Suspension>> waiters;
  {
    std::lock_guard lock(mu_);
    set_ = true;
    waiters.swap(waiters_);
  }
  // Waiters on a loop resume there, after the setter yields; plain threads resume at once.
  // Those a cancellation resumed already are passed over.
  for (const auto& waiter : waiters) internal::Wake(waiter);
}

void Event::Clear() {
  std::lock_guard lock(mu_);
  set_ = false;
}

bool Event::IsSet() const {
  std::lock_guard lock(mu_);
  return set_;
}

bool Event::Awaiter::await_suspend(std::coroutine_handle<> handle) {
  std::lock_guard lock(event_.mu_);
  if (event_.set_) return false;
  auto suspension = internal::Suspend(handle);
  if (!suspension) return false;  // cancelled: await_resume throws
  // Waiters a cancellation resumed are dropped from time to time (amortized: at powers of 2).
  auto& waiters = event_.waiters_;
  if (waiters.size() >= 64 && (waiters.size() & (waiters.size() - 1)) == 0) {
    std::erase_if(waiters, [](const auto& waiter) { return waiter->woken(); });
  }
  waiters.push_back(std::move(suspension));
  return true;
}

}  // namespace weft
