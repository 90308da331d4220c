#pragma once

// The actors and the remote function the benchmark calls: the shapes of Ray's
// ray_perf.py (a plain actor, an async actor, a task returning a small value), plus what
// Weft's own cases need (pids for RSS, large results, CPU-bound work, an event fan-out).

#include <weft/weft.h>

#include <cstdint>
#include <string>

namespace weft::bench {

// A thread-pool actor.
class Echo {
 public:
  int SmallValue() { return 0; }
  int SmallValueArg(int x) { return x; }
  int Pid();
  // A fresh string of `bytes` bytes: a result large enough to stay in the worker's store.
  std::string Blob(int64_t bytes) { return std::string(static_cast<size_t>(bytes), 'x'); }
  // The same as a weft::Blob, which its readers get without a copy.
  weft::Blob SharedBlob(int64_t bytes) { return weft::Blob(Blob(bytes)); }
  // CPU-bound work: `iterations` rounds of an integer hash. Returns the hash.
  uint64_t Spin(int64_t iterations);
};

// An async (coroutine) actor.
class AsyncEcho {
 public:
  Async<int> SmallValue() { co_return 0; }
  Async<int> SmallValueArg(int x) { co_return x; }
  Async<int> Pid();
  // Waits for Set; returns the monotonic clock (ns) when it resumed.
  Async<int64_t> WaitForSet();
  // Wakes the calls waiting in WaitForSet (later ones wait for the next Set); returns the
  // monotonic clock (ns) just before.
  int64_t Set();

 private:
  Event event_;
};

int SmallValue();

}  // namespace weft::bench
