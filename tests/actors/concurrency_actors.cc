#include "tests/actors/concurrency_actors.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <unistd.h>

#include "tests/actors/test_actors.h"

namespace weft::testing {

SlowStarter::SlowStarter(weft::ActorHandle<Gate> started, weft::ActorHandle<Gate> gate) {
  auto running = started.Call(&Gate::Arrive);  // answered once the caller arrives there too
  gate.Call(&Gate::Arrive).Get(std::chrono::seconds(60));
}

int Blocker::WaitFor(weft::ActorHandle<Gate> gate) {
  return gate.Call(&Gate::Arrive).Get(std::chrono::seconds(60));
}

int Blocker::EchoThrough(weft::ActorHandle<Recorder> other, int x) {
  return other.Call(&Recorder::Echo, x).Get(std::chrono::seconds(60));
}

int Blocker::Pid() { return static_cast<int>(getpid()); }

namespace {

Span Work(int ms) {
  const int64_t start = NowNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the workload under test
  return {start, NowNs()};
}

weft::Async<Span> AsyncWork(int ms) {
  const int64_t start = NowNs();
  co_await weft::Sleep(std::chrono::milliseconds(ms));
  co_return Span{start, NowNs()};
}

}  // namespace

Span Grouped::Io(int ms) { return Work(ms); }
Span Grouped::Compute(int ms) { return Work(ms); }
Span Grouped::Plain(int ms) { return Work(ms); }

int Grouped::Block() {
  std::unique_lock lock(mu_);
  return unblocked_.wait_for(lock, std::chrono::seconds(60), [&] { return open_; }) ? 1 : -1;
}

void Grouped::Unblock() {
  std::lock_guard lock(mu_);
  open_ = true;
  unblocked_.notify_all();
}

void Grouped::Note(int i) {
  // Later calls sleep less: two at once would note out of order.
  std::this_thread::sleep_for(std::chrono::milliseconds(20 - i % 20));
  std::lock_guard lock(mu_);
  notes_.push_back(i);
}

std::vector<int> Grouped::Notes() {
  std::lock_guard lock(mu_);
  return notes_;
}

weft::Async<Span> AsyncGrouped::Io(int ms) { return AsyncWork(ms); }
weft::Async<Span> AsyncGrouped::Compute(int ms) { return AsyncWork(ms); }
weft::Async<Span> AsyncGrouped::Plain(int ms) { return AsyncWork(ms); }

weft::Async<int> AsyncGrouped::Block() {
  co_await unblocked_.Wait();
  co_return 1;
}

weft::Async<int> AsyncGrouped::Unblock() {
  unblocked_.Set();
  co_return 0;
}

weft::Async<int> AsyncGrouped::Note(int i) {
  // Later calls sleep less: two at once would note out of order.
  co_await weft::Sleep(std::chrono::milliseconds(20 - i % 20));
  notes_.push_back(i);
  co_return i;
}

std::vector<int> AsyncGrouped::Notes() { return notes_; }

int MaxOverlap(const std::vector<Span>& spans) {
  std::vector<std::pair<int64_t, int>> events;  // (time, +1 start / -1 end); ends sort first
  for (const auto& [start, end] : spans) {
    events.emplace_back(start, 1);
    events.emplace_back(end, -1);
  }
  std::sort(events.begin(), events.end());
  int running = 0, most = 0;
  for (const auto& [time, change] : events) most = std::max(most, running += change);
  return most;
}

namespace {

const auto kGrouped = weft::ActorClass<Grouped>("Grouped")
                          .ConcurrencyGroup("io", 2)
                          .ConcurrencyGroup("compute", 1)
                          .Method("Io", &Grouped::Io, {.concurrency_group = "io"})
                          .Method("Compute", &Grouped::Compute, {.concurrency_group = "compute"})
                          .Method("Plain", &Grouped::Plain)
                          .Method("Block", &Grouped::Block)
                          .Method("Unblock", &Grouped::Unblock, {.concurrency_group = "io"})
                          .Method("Note", &Grouped::Note, {.concurrency_group = "compute"})
                          .Method("Notes", &Grouped::Notes, {.concurrency_group = "io"});

const auto kAsyncGrouped =
    weft::ActorClass<AsyncGrouped>("AsyncGrouped")
        .ConcurrencyGroup("io", 2)
        .ConcurrencyGroup("compute", 1)
        .Method("Io", &AsyncGrouped::Io, {.concurrency_group = "io"})
        .Method("Compute", &AsyncGrouped::Compute, {.concurrency_group = "compute"})
        .Method("Plain", &AsyncGrouped::Plain)
        .Method("Block", &AsyncGrouped::Block)
        .Method("Unblock", &AsyncGrouped::Unblock, {.concurrency_group = "io"})
        .Method("Note", &AsyncGrouped::Note, {.concurrency_group = "compute"})
        .Method("Notes", &AsyncGrouped::Notes, {.concurrency_group = "io"});

const auto kRefuser =
    weft::ActorClass<Refuser>("Refuser").Constructor<int>().Method("Ping", &Refuser::Ping);
const auto kAsyncRefuser = weft::ActorClass<AsyncRefuser>("AsyncRefuser")
                               .Constructor<int>()
                               .Method("Ping", &AsyncRefuser::Ping);

const auto kSlowStarter = weft::ActorClass<SlowStarter>("SlowStarter")
                              .Constructor<weft::ActorHandle<Gate>, weft::ActorHandle<Gate>>()
                              .Method("Ping", &SlowStarter::Ping);

const auto kBlocker = weft::ActorClass<Blocker>("Blocker")
                          .Method("WaitFor", &Blocker::WaitFor)
                          .Method("EchoThrough", &Blocker::EchoThrough)
                          .Method("Pid", &Blocker::Pid);

const auto kMisgrouped = weft::ActorClass<Misgrouped>("Misgrouped")
                             .ConcurrencyGroup("io", 2)
                             .Method("Ping", &Misgrouped::Ping, {.concurrency_group = "db"});

}  // namespace
}  // namespace weft::testing
