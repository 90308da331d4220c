#pragma once

// What the chaos run (tests/chaos/chaos.cc) calls while it kills workers and nodes: actors
// that journal every call they apply to a file, so that what they did survives their
// restarts, and a task with a known answer.

#include <weft/weft.h>

#include <cstdint>
#include <string>

namespace weft::chaos {

// Appends "<caller> <seq>\n" to a journal file with one write(2) per call (O_APPEND), before
// returning `seq`. The file is named by the constructor's argument, which a restart passes
// again, so every applied call is in the journal, however often the actor restarted.
class Journal {
 public:
  explicit Journal(std::string path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  void Append(int caller, int64_t seq) const;

 private:
  int fd_ = -1;
};

// Thread-pool executor, one call at a time.
class ThreadedLedger {
 public:
  explicit ThreadedLedger(std::string path) : journal_(std::move(path)) {}
  int64_t Apply(int caller, int64_t seq);

 private:
  Journal journal_;
};

// Async executor: each call awaits a short timer before it journals.
class AsyncLedger {
 public:
  explicit AsyncLedger(std::string path) : journal_(std::move(path)) {}
  weft::Async<int64_t> Apply(int caller, int64_t seq);

 private:
  Journal journal_;
};

// x * x, after `ms` milliseconds of sleep.
int64_t SlowSquare(int64_t x, int ms);

// 150 KiB derived from `seq`: over the inline limit, so the task's worker stores it.
std::string LargeBlob(int64_t seq);

}  // namespace weft::chaos
