#pragma once

// Actor classes and functions the integration tests call. They live in a shared library
// (libweft_test_actors.so) that the test process links and the workers load.

#include <weft/weft.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace weft::testing {

// Steady-clock time in nanoseconds; comparable across processes on one machine.
int64_t NowNs();

// Thread-pool actor: records calls, fails on request, makes and checks large values.
class Recorder {
 public:
  void Append(int i);
  std::vector<int> Sequence() const;
  int Echo(int x) { return x; }
  int SlowEcho(int x, int ms);
  int Fail(std::string message);
  std::string Blob(int64_t bytes);
  weft::Blob SharedBlob(int64_t bytes) { return weft::Blob(Blob(bytes)); }  // the same bytes
  int64_t Checksum(std::string data);
  int64_t ChecksumBlob(weft::Blob data) { return Checksum(data.str()); }
  int Pid();
  std::string Hello(std::string who);

 private:
  mutable std::mutex mu_;
  std::vector<int> sequence_;
};

// Thread-pool actor for parallelism: a CPU-bound method returning when it ran.
class Spinner {
 public:
  std::pair<int64_t, int64_t> Spin(int ms);
};

// Async actor: a barrier of coroutines, timed sleeps, and calls to other actors.
class Gate {
 public:
  explicit Gate(int expected) : expected_(expected) {}
  weft::Async<int> Arrive();
  weft::Async<int> Echo(int x) { co_return x; }
  weft::Async<std::pair<int64_t, int64_t>> Timed(int ms);
  weft::Async<int> AwaitRef(weft::ObjectRef<int> ref);
  weft::Async<int> AskRecorder(std::string name, int x);  // co_awaits another actor's call
  int GetFromRecorder(std::string name, int x);           // blocks the loop: must fail
  int Pid();

 private:
  weft::Event event_;
  int arrived_ = 0;
  int expected_;
};

int Add(int a, int b);
int PidAfter(int ms);  // the worker's pid, after `ms` of work
std::string Shout(std::string text);
// What weft::GetActorInfo tells a task about the actor `actor_id`: "<STATE> pid=<pid>".
std::string StateSeenInside(std::string actor_id);

}  // namespace weft::testing
