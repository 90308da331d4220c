#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "worker.pb.h"

namespace weft::worker {

// What a worker ran: each call or task it answered, kept for `weft timeline` (the newest
// `capacity` events; older ones are counted as dropped), and counts and run-time histograms
// per actor class and method or task function, kept for the worker's life (a node's
// /metrics). Thread-safe, and cheap on the call path: a call's arrival takes one short lock
// (to find its method's counters), its answer updates atomics and writes one slot of a
// preallocated ring; neither allocates once an actor's method has been seen.
class CallLog {
 public:
  // The class an actor id belongs to ("" when unknown). Asked once per actor.
  using ClassOf = std::function<std::string(const std::string& actor_id)>;
  // Upper bounds (seconds) of the run-time histogram's buckets.
  static constexpr std::array<double, 18> kLatencyBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};

  CallLog(size_t capacity, ClassOf class_of);

  // One method's (or task function's) counters; lives as long as the log.
  struct Method;
  // A call that reached this worker, until it is answered.
  struct Arrival {
    Method* method;
    const std::string* actor_id;  // interned; null for a task
    int64_t arrived_us;
  };

  // Times are microseconds since the Unix epoch.
  // A call reached this worker (actor_id empty for a task; method is then its function).
  Arrival Received(const std::string& actor_id, const std::string& method, int64_t now_us);
  // It was answered. `started_us` 0: it never ran. `name`: the caller's name for it.
  void Answered(const Arrival& arrival, const std::string& name, int64_t started_us, int64_t now_us,
                bool failed);

  // Oldest first.
  proto::GetCallEventsReply Events() const;
  proto::GetMethodStatsReply MethodStats() const;

  struct Method {
    std::string class_name;
    std::string method;
    std::atomic<int64_t> received{0};
    std::atomic<int64_t> finished{0};
    std::atomic<int64_t> failed{0};
    std::array<std::atomic<int64_t>, kLatencyBounds.size() + 1> counts{};
    std::atomic<int64_t> run_us{0};
    std::atomic<int64_t> queued_us{0};
  };

 private:
  struct Event {
    const Method* method = nullptr;
    const std::string* actor_id = nullptr;
    std::string name;
    int64_t arrived_us = 0;
    int64_t started_us = 0;
    int64_t finished_us = 0;
    bool failed = false;
  };

  const size_t capacity_;
  const ClassOf class_of_;
  mutable absl::Mutex methods_mu_;
  // Actor id -> its class (node maps: the keys and values stay where they are).
  absl::node_hash_map<std::string, std::string> classes_ ABSL_GUARDED_BY(methods_mu_);
  // By class name ("" for tasks), then method (a task: its function name).
  absl::node_hash_map<std::string, absl::node_hash_map<std::string, Method>> methods_
      ABSL_GUARDED_BY(methods_mu_);
  mutable absl::Mutex events_mu_;
  std::vector<Event> events_ ABSL_GUARDED_BY(events_mu_);  // a ring once `capacity_` long
  size_t next_ ABSL_GUARDED_BY(events_mu_) = 0;            // the slot written next once full
  int64_t dropped_ ABSL_GUARDED_BY(events_mu_) = 0;
};

}  // namespace weft::worker
