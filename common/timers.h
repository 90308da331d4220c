#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"

namespace weft {

// Runs functions at given times, on a thread of its own (started by the first At), one at a
// time: they must not block. For the deadlines of what is waited for without a call of its own
// (the watches of a WatchStreams) and an owner's polls. Thread-safe.
class Timers {
 public:
  using Clock = std::chrono::steady_clock;

  Timers() = default;
  ~Timers();  // Stop()
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Runs `fire` at `when` (at once if it is past), unless cancelled first. Returns the timer's
  // id (never 0); 0 once stopped, and then `fire` never runs.
  uint64_t At(Clock::time_point when, std::function<void()> fire);
  // Takes timer `id` out: true when it had not begun to run (it never will).
  bool Cancel(uint64_t id);
  // Runs no more timers: waits for one running and joins the thread. Timers set afterwards are
  // refused (At returns 0).
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable changed_;
  bool stopped_ = false;
  uint64_t last_id_ = 0;
  // By time, then id; and each id's time, to find it again.
  std::map<std::pair<Clock::time_point, uint64_t>, std::function<void()>> due_;
  absl::flat_hash_map<uint64_t, Clock::time_point> when_;
  std::thread thread_;
};

}  // namespace weft
