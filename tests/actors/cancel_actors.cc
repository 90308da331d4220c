#include "tests/actors/cancel_actors.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace weft::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Polls CancelRequested() every millisecond for at most `ms`: true once it is.
bool SeesCancel(int ms) {
  const auto until = Clock::now() + milliseconds(ms);
  while (Clock::now() < until) {
    if (weft::CancelRequested()) return true;
    std::this_thread::sleep_for(milliseconds(1));  // the workload: polling, as a user's would
  }
  return false;
}

void Mark(const std::string& path) { std::ofstream(path) << getpid() << "\n"; }

}  // namespace

weft::Async<int> Waiter::OnEvent() {
  Guard guard{unwound_};
  ++started_;
  co_await never_.Wait();
  co_return 1;
}

weft::Async<int> Waiter::Nested() {
  Guard guard{unwound_};
  co_return co_await OnEvent();
}

weft::Async<int> Waiter::OnSleep(int ms) {
  Guard guard{unwound_};
  ++started_;
  co_await weft::Sleep(milliseconds(ms));
  co_return 1;
}

weft::Async<int> Waiter::OnRef(weft::ObjectRef<int> ref) {
  Guard guard{unwound_};
  ++started_;
  co_return co_await ref;
}

weft::Async<int> Waiter::CatchesIt() {
  ++started_;
  try {
    co_await never_.Wait();
  } catch (const weft::CancelledError&) {
    co_return 7;
  }
  co_return 1;
}

int Poller::UntilCancelled(int ms) {
  ++started_;
  return SeesCancel(ms) ? 1 : 0;
}

int Poller::ThrowsWhenCancelled(int ms) {
  ++started_;
  if (SeesCancel(ms)) throw weft::CancelledError("saw the cancellation and stopped");
  return 0;
}

int TaskUntilCancelled(std::string started, int ms) {
  Mark(started);
  return SeesCancel(ms) ? 1 : 0;
}

int TaskIgnoresCancel(std::string started, int ms) {
  Mark(started);
  std::this_thread::sleep_for(milliseconds(ms));  // the workload: deaf to CancelRequested()
  return getpid();
}

int TaskThrowsWhenCancelled(std::string started, int ms) {
  Mark(started);
  if (SeesCancel(ms)) throw weft::CancelledError("the child saw the cancellation");
  return 0;
}

int TaskWithChild(std::string started, std::string child_started, int ms) {
  Mark(started);
  return weft::Task(&TaskThrowsWhenCancelled).Remote(child_started, ms).Get();
}

namespace {

const auto kWaiter = weft::ActorClass<Waiter>("Waiter")
                         .ConcurrencyGroup("probe", 1)
                         .Method("OnEvent", &Waiter::OnEvent)
                         .Method("Nested", &Waiter::Nested)
                         .Method("OnSleep", &Waiter::OnSleep)
                         .Method("OnRef", &Waiter::OnRef)
                         .Method("CatchesIt", &Waiter::CatchesIt)
                         .Method("Started", &Waiter::Started, {.concurrency_group = "probe"})
                         .Method("Unwound", &Waiter::Unwound, {.concurrency_group = "probe"})
                         .Method("Echo", &Waiter::Echo, {.concurrency_group = "probe"});

const auto kPoller = weft::ActorClass<Poller>("Poller")
                         .ConcurrencyGroup("probe", 1)
                         .Method("UntilCancelled", &Poller::UntilCancelled)
                         .Method("ThrowsWhenCancelled", &Poller::ThrowsWhenCancelled)
                         .Method("Started", &Poller::Started, {.concurrency_group = "probe"})
                         .Method("Echo", &Poller::Echo, {.concurrency_group = "probe"});

const bool kTaskUntilCancelled = weft::RemoteFunction("TaskUntilCancelled", &TaskUntilCancelled);
const bool kTaskIgnoresCancel = weft::RemoteFunction("TaskIgnoresCancel", &TaskIgnoresCancel);
const bool kTaskWithChild = weft::RemoteFunction("TaskWithChild", &TaskWithChild);
const bool kTaskThrowsWhenCancelled =
    weft::RemoteFunction("TaskThrowsWhenCancelled", &TaskThrowsWhenCancelled);

}  // namespace
}  // namespace weft::testing
