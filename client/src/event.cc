#include "weft/async.h"

namespace weft {

void Event::Set() {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    set_ = true;
    waiters.swap(waiters_);
  }
  for (const auto& waiter : waiters) {
    // Waiters on a loop resume there, after the setter yields; plain threads resume at once.
    internal::Resume(waiter.loop, waiter.handle);
  }
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
  event_.waiters_.push_back({handle, internal::CurrentLoop()});
  return true;
}

}  // namespace weft
