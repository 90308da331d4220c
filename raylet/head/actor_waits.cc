#include "raylet/head/actor_waits.h"

namespace weft::head {

uint64_t ActorWaits::Wait(const std::string& actor_id, proto::ActorState known,
                          std::chrono::milliseconds wait, Waiter done) {
  absl::StatusOr<proto::ActorInfo> info;
  {
    // Read and park under one lock: a change that Notify reports between the two would
    // otherwise leave this waiter parked with a stale state until its wait runs out.
    absl::MutexLock lock(&mu_);
    info = actors_.Get(actor_id);
    if (info.ok() && info->state() == known && wait.count() > 0) {
      const uint64_t ticket = ++last_ticket_;
      parked_[actor_id].emplace(
          ticket, Parked{known, std::chrono::steady_clock::now() + wait, std::move(done)});
      return ticket;
    }
  }
  done(info);
  return 0;
}

bool ActorWaits::Cancel(const std::string& actor_id, uint64_t ticket) {
  Waiter cancelled;  // goes after the lock
  absl::MutexLock lock(&mu_);
  auto it = parked_.find(actor_id);
  if (it == parked_.end()) return false;
  auto w = it->second.find(ticket);
  if (w == it->second.end()) return false;
  cancelled = std::move(w->second.done);
  it->second.erase(w);
  if (it->second.empty()) parked_.erase(it);
  return true;
}

void ActorWaits::Notify(const std::string& actor_id, bool any_change) {
  const auto info = actors_.Get(actor_id);
  Selected ready;
  {
    absl::MutexLock lock(&mu_);
    auto it = parked_.find(actor_id);
    if (it == parked_.end()) return;
    auto& list = it->second;
    for (auto w = list.begin(); w != list.end();) {
      if (any_change || !info.ok() || info->state() != w->second.known) {
        ready.emplace_back(actor_id, std::move(w->second));
        w = list.erase(w);
      } else {
        ++w;
      }
    }
    if (list.empty()) parked_.erase(it);
  }
  for (auto& [id, w] : ready) w.done(info);
}

ActorWaits::Selected ActorWaits::TakeLocked(
    const std::function<bool(const std::string&, const Parked&)>& answer) {
  Selected taken;
  for (auto it = parked_.begin(); it != parked_.end();) {
    auto& list = it->second;
    for (auto w = list.begin(); w != list.end();) {
      if (answer(it->first, w->second)) {
        taken.emplace_back(it->first, std::move(w->second));
        w = list.erase(w);
      } else {
        ++w;
      }
    }
    if (list.empty()) {
      parked_.erase(it++);
    } else {
      ++it;
    }
  }
  return taken;
}

void ActorWaits::Answer(Selected selected) {
  for (auto& [actor_id, w] : selected) w.done(actors_.Get(actor_id));
}

void ActorWaits::ExpireDue() {
  const auto now = std::chrono::steady_clock::now();
  Selected due;
  {
    absl::MutexLock lock(&mu_);
    due = TakeLocked([now](const std::string&, const Parked& w) { return w.deadline <= now; });
  }
  Answer(std::move(due));
}

void ActorWaits::AnswerAll() {
  Selected all;
  {
    absl::MutexLock lock(&mu_);
    all = TakeLocked([](const std::string&, const Parked&) { return true; });
  }
  Answer(std::move(all));
}

size_t ActorWaits::parked() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [id, list] : parked_) n += list.size();
  return n;
}

}  // namespace weft::head
