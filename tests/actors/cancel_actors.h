#pragma once

// Actor classes and tasks of the cancellation tests (issue 15): calls that wait until they are
// cancelled, recording what unwound, and calls that poll weft::CancelRequested().

#include <weft/weft.h>

#include <atomic>
#include <string>

namespace weft::testing {

// Async actor (max_concurrency from its options): coroutines suspended until cancelled. Each
// waiting frame holds a guard whose destructor counts in Unwound(). Started, Unwound and Echo
// run in a concurrency group "probe" of their own: they answer while the default group is full.
class Waiter {
 public:
  weft::Async<int> OnEvent();                        // co_awaits an Event nobody sets
  weft::Async<int> Nested();                         // co_awaits a coroutine doing OnEvent
  weft::Async<int> OnSleep(int ms);                  // co_awaits a Sleep of `ms`; returns 1
  weft::Async<int> OnRef(weft::ObjectRef<int> ref);  // co_awaits `ref`; returns its value
  // Catches the cancellation at its co_await and returns 7 instead.
  weft::Async<int> CatchesIt();
  int Started() const { return started_; }  // calls that reached their co_await
  int Unwound() const { return unwound_; }  // guards destroyed
  int Echo(int x) { return x; }

 private:
  struct Guard {
    int& unwound;
    ~Guard() { ++unwound; }
  };
  weft::Event never_;
  int started_ = 0;
  int unwound_ = 0;
};

// Thread-pool actor: plain methods that run until they see CancelRequested() (or `ms` pass).
// Started and Echo run in a concurrency group "probe" of their own.
class Poller {
 public:
  // Returns 1 once it saw CancelRequested(), 0 if `ms` passed first.
  int UntilCancelled(int ms);
  // Throws weft::CancelledError once it saw CancelRequested(); returns 0 if `ms` passed first.
  int ThrowsWhenCancelled(int ms);
  int Started() const { return started_; }
  int Echo(int x) { return x; }

 private:
  std::atomic<int> started_{0};
};

// Tasks. Each creates the file `started` first (a marker the test waits for).
// Returns 1 once it saw CancelRequested(), 0 if `ms` passed first.
int TaskUntilCancelled(std::string started, int ms);
// Sleeps `ms`, ignoring cancellation: only a forced cancel stops it. Returns its pid.
int TaskIgnoresCancel(std::string started, int ms);
// Submits TaskThrowsWhenCancelled(child_started, ms) and returns its value (a nested Get).
int TaskWithChild(std::string started, std::string child_started, int ms);
// Throws weft::CancelledError once it saw CancelRequested(); returns 0 if `ms` passed first.
int TaskThrowsWhenCancelled(std::string started, int ms);

}  // namespace weft::testing
