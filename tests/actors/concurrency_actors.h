#pragma once

// Actor classes of the concurrency tests (issue 15): concurrency groups on both executors.

#include <weft/weft.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tests/actors/test_actors.h"

namespace weft::testing {

// [start, end] of a call, in steady-clock nanoseconds (comparable across processes).
using Span = std::pair<int64_t, int64_t>;

// Thread-pool actor with concurrency groups "io" (2) and "compute" (1); the default group has
// the actor's max_concurrency (1 unless given).
class Grouped {
 public:
  Span Io(int ms);           // "io": works for `ms`
  Span Compute(int ms);      // "compute"
  Span Plain(int ms);        // the default group
  int Block();               // the default group: returns 1 once Unblock ran (or -1 after 60 s)
  void Unblock();            // "io"
  void Note(int i);          // "compute": appends i
  std::vector<int> Notes();  // "io"

 private:
  std::mutex mu_;
  std::condition_variable unblocked_;
  bool open_ = false;
  std::vector<int> notes_;
};

// The same for an async actor: the groups are limits on its one event loop.
class AsyncGrouped {
 public:
  weft::Async<Span> Io(int ms);       // "io": co_awaits a Sleep of `ms`
  weft::Async<Span> Compute(int ms);  // "compute"
  weft::Async<Span> Plain(int ms);    // the default group
  weft::Async<int> Block();           // the default group: returns 1 once Unblock ran
  weft::Async<int> Unblock();         // "io"
  weft::Async<int> Note(int i);       // "compute": appends i
  std::vector<int> Notes();           // "io"

 private:
  weft::Event unblocked_;
  std::vector<int> notes_;
};

// Declares a method in a group it does not declare: creating one fails.
class Misgrouped {
 public:
  int Ping() { return 1; }
};

// Constructors that throw std::runtime_error("refused"), on a thread-pool actor and an async
// one: creating one fails, and the worker hosting it keeps serving.
class Refuser {
 public:
  explicit Refuser(int) { throw std::runtime_error("refused"); }
  int Ping() { return 1; }
};
class AsyncRefuser {
 public:
  explicit AsyncRefuser(int) { throw std::runtime_error("refused"); }
  weft::Async<int> Ping() { co_return 1; }
};

// A constructor that takes its time, as one that loads a model would: it arrives at `started`
// (whose other arrival tells the caller it runs), then returns once `gate` has seen its other
// arrival (or throws after 60 s).
class SlowStarter {
 public:
  SlowStarter(weft::ActorHandle<Gate> started, weft::ActorHandle<Gate> gate);
  int Ping() { return 1; }
};

// A one-at-a-time thread-pool actor whose calls block their thread, as user code does: the
// worker runs a call of an idle such actor on the gRPC thread that read it (CallerRuns), and
// a blocked call must hold up no other actor of its worker.
class Blocker {
 public:
  int WaitFor(weft::ActorHandle<Gate> gate);  // the gate's count once it saw its other arrival
  int EchoThrough(weft::ActorHandle<Recorder> other, int x);  // waits for other's Echo(x)
  int Pid();
};

// The largest number of `spans` running at one instant.
int MaxOverlap(const std::vector<Span>& spans);

}  // namespace weft::testing
