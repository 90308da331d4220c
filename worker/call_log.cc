#include "worker/call_log.h"

#include <algorithm>

namespace weft::worker {

CallLog::CallLog(size_t capacity, ClassOf class_of)
    : capacity_(capacity), class_of_(std::move(class_of)) {}

CallLog::Arrival CallLog::Received(const std::string& actor_id, const std::string& method,
                                   int64_t now_us) {
  absl::MutexLock lock(&methods_mu_);
  const std::string* interned = nullptr;
  static const std::string kTask;
  const std::string* class_name = &kTask;
  if (!actor_id.empty()) {
    auto it = classes_.try_emplace(actor_id).first;
    // Not hosted here (yet): asked again at its next call.
    if (it->second.empty() && class_of_) it->second = class_of_(actor_id);
    interned = &it->first;
    class_name = &it->second;
  }
  auto& of_class = methods_[*class_name];
  auto found = of_class.find(method);
  if (found == of_class.end()) {
    found = of_class.try_emplace(method).first;
    found->second.class_name = *class_name;
    found->second.method = method;
  }
  Method& m = found->second;
  m.received.fetch_add(1, std::memory_order_relaxed);
  return {.method = &m, .actor_id = interned, .arrived_us = now_us};
}

void CallLog::Answered(const Arrival& arrival, const std::string& name, int64_t started_us,
                       int64_t now_us, bool failed) {
  Method& m = *arrival.method;
  m.finished.fetch_add(1, std::memory_order_relaxed);
  if (failed) m.failed.fetch_add(1, std::memory_order_relaxed);
  if (started_us != 0) {
    const int64_t run_us = std::max<int64_t>(0, now_us - started_us);
    const size_t bucket =
        std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), run_us / 1e6) -
        kLatencyBounds.begin();
    m.counts[bucket].fetch_add(1, std::memory_order_relaxed);
    m.run_us.fetch_add(run_us, std::memory_order_relaxed);
    m.queued_us.fetch_add(std::max<int64_t>(0, started_us - arrival.arrived_us),
                          std::memory_order_relaxed);
  }
  if (capacity_ == 0) return;
  absl::MutexLock lock(&events_mu_);
  Event* event;
  if (events_.size() < capacity_) {
    event = &events_.emplace_back();
  } else {
    event = &events_[next_];
    next_ = (next_ + 1) % capacity_;
    ++dropped_;
  }
  event->method = &m;
  event->actor_id = arrival.actor_id;
  event->name = name;
  event->arrived_us = arrival.arrived_us;
  event->started_us = started_us;
  event->finished_us = now_us;
  event->failed = failed;
}

proto::GetCallEventsReply CallLog::Events() const {
  proto::GetCallEventsReply reply;
  absl::MutexLock lock(&events_mu_);
  reply.mutable_events()->Reserve(static_cast<int>(events_.size()));
  for (size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[(next_ + i) % events_.size()];
    proto::CallEvent& out = *reply.add_events();
    if (e.actor_id != nullptr) out.set_actor_id(*e.actor_id);
    out.set_class_name(e.method->class_name);
    out.set_method(e.method->method);
    out.set_name(e.name);
    out.set_arrived_us(e.arrived_us);
    out.set_started_us(e.started_us);
    out.set_finished_us(e.finished_us);
    out.set_failed(e.failed);
  }
  reply.set_dropped(dropped_);
  return reply;
}

proto::GetMethodStatsReply CallLog::MethodStats() const {
  proto::GetMethodStatsReply reply;
  absl::MutexLock lock(&methods_mu_);
  for (const auto& [class_name, of_class] : methods_) {
    for (const auto& [method, m] : of_class) {
      proto::MethodStats& out = *reply.add_methods();
      out.set_class_name(m.class_name);
      out.set_method(m.method);
      // Finished first: a call answered between the two reads is never in flight twice.
      out.set_finished(m.finished.load(std::memory_order_relaxed));
      out.set_received(std::max(out.finished(), m.received.load(std::memory_order_relaxed)));
      out.set_failed(m.failed.load(std::memory_order_relaxed));
      for (double bound : kLatencyBounds) out.add_latency_bounds_seconds(bound);
      for (const auto& count : m.counts) out.add_latency_counts(count.load());
      out.set_latency_sum_seconds(m.run_us.load() / 1e6);
      out.set_queued_sum_seconds(m.queued_us.load() / 1e6);
    }
  }
  return reply;
}

}  // namespace weft::worker
