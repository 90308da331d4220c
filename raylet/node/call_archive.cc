#include "raylet/node/call_archive.h"

namespace weft::node {

void CallArchive::Keep(proto::WorkerInfo worker, proto::GetCallEventsReply calls) {
  auto* events = calls.mutable_events();
  if (static_cast<size_t>(events->size()) > most_calls_) {
    const int extra = events->size() - static_cast<int>(most_calls_);
    events->DeleteSubrange(0, extra);
    calls.set_dropped(calls.dropped() + extra);
  }
  const size_t kept = static_cast<size_t>(events->size());
  proto::WorkerCallLog log;
  *log.mutable_worker() = std::move(worker);
  *log.mutable_calls() = std::move(calls);
  absl::MutexLock lock(&mu_);
  // Handed over as it left and asked for before a kill: the later one has all of it.
  for (auto it = logs_.begin(); it != logs_.end(); ++it) {
    if (it->worker().worker_id() != log.worker().worker_id()) continue;
    calls_ -= static_cast<size_t>(it->calls().events_size());
    logs_.erase(it);
    break;
  }
  while (!logs_.empty() && calls_ + kept > most_calls_) {
    calls_ -= static_cast<size_t>(logs_.front().calls().events_size());
    logs_.pop_front();
  }
  calls_ += kept;
  logs_.push_back(std::move(log));
}

std::vector<proto::WorkerCallLog> CallArchive::List(const std::string& job_id) const {
  std::vector<proto::WorkerCallLog> found;
  absl::MutexLock lock(&mu_);
  for (const auto& log : logs_) {
    if (job_id.empty() || log.worker().job_id() == job_id) found.push_back(log);
  }
  return found;
}

size_t CallArchive::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

}  // namespace weft::node
