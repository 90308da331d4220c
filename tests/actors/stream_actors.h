#pragma once

// Actor classes and tasks of the streaming tests (issue 15): generators on both executors and
// in tasks, recording how far they ran ahead of their caller.

#include <weft/weft.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace weft::testing {

// Thread-pool actor. Produced and Echo run in a concurrency group "probe" of their own.
class Streamer {
 public:
  weft::Generator<int> Count(int n);                   // 0 .. n-1
  weft::Generator<int> FailAt(int n, int at);          // 0 .. at-1, then throws "failed at <at>"
  weft::Generator<std::string> Big(int n, int bytes);  // n strings of `bytes` bytes
  int64_t Produced() const { return produced_; }       // items yielded so far, by every call

 private:
  std::atomic<int64_t> produced_{0};
};

// Async actor: the same, co_awaiting between yields; Gated waits for Open between its items.
class AsyncStreamer {
 public:
  weft::Generator<int> Count(int n);
  weft::Generator<int> FailAt(int n, int at);
  weft::Generator<int> Gated();  // yields 1, waits for Open(), yields 2
  weft::Async<int> Open();
  // Iterates `other`'s Count stream on this actor's loop (which must throw).
  weft::Async<int> Drain(weft::ActorHandle<Streamer> other);
  int64_t Produced() const { return produced_; }

 private:
  weft::Event open_;
  int64_t produced_ = 0;
};

weft::Generator<int> TaskCount(int n);  // a generator task: 0 .. n-1

}  // namespace weft::testing
