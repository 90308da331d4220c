#include "tests/actors/stream_actors.h"

#include <chrono>
#include <stdexcept>

namespace weft::testing {

weft::Generator<int> Streamer::Count(int n) {
  for (int i = 0; i < n; ++i) {
    ++produced_;
    co_yield i;
  }
}

weft::Generator<int> Streamer::FailAt(int n, int at) {
  for (int i = 0; i < n; ++i) {
    if (i == at) throw std::runtime_error("failed at " + std::to_string(at));
    co_yield i;
  }
}

weft::Generator<std::string> Streamer::Big(int n, int bytes) {
  for (int i = 0; i < n; ++i) co_yield std::string(static_cast<size_t>(bytes), 'a' + i % 26);
}

weft::Generator<int> AsyncStreamer::Count(int n) {
  for (int i = 0; i < n; ++i) {
    if (i % 1000 == 0) co_await weft::Sleep(std::chrono::microseconds(1));  // the loop turns
    ++produced_;
    co_yield i;
  }
}

weft::Generator<int> AsyncStreamer::FailAt(int n, int at) {
  for (int i = 0; i < n; ++i) {
    co_await weft::Sleep(std::chrono::microseconds(1));
    if (i == at) throw std::runtime_error("failed at " + std::to_string(at));
    co_yield i;
  }
}

weft::Generator<int> AsyncStreamer::Gated() {
  co_yield 1;
  co_await open_.Wait();
  co_yield 2;
}

weft::Async<int> AsyncStreamer::Open() {
  open_.Set();
  co_return 1;
}

weft::Async<int> AsyncStreamer::Drain(weft::ActorHandle<Streamer> other) {
  int count = 0;
  // More items than the stream's window (64): however late this loop runs, the producer waits
  // for it, so iterating must wait at least once (3 items could all be here before it looks).
  for (auto item : other.Call(&Streamer::Count, 1000)) count += item.valid();
  co_return count;
}

weft::Generator<int> TaskCount(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

namespace {

const auto kStreamer = weft::ActorClass<Streamer>("Streamer")
                           .ConcurrencyGroup("probe", 1)
                           .Method("Count", &Streamer::Count)
                           .Method("FailAt", &Streamer::FailAt)
                           .Method("Big", &Streamer::Big)
                           .Method("Produced", &Streamer::Produced, {.concurrency_group = "probe"});

const auto kAsyncStreamer =
    weft::ActorClass<AsyncStreamer>("AsyncStreamer")
        .ConcurrencyGroup("probe", 1)
        .Method("Count", &AsyncStreamer::Count)
        .Method("FailAt", &AsyncStreamer::FailAt)
        .Method("Gated", &AsyncStreamer::Gated)
        .Method("Open", &AsyncStreamer::Open, {.concurrency_group = "probe"})
        .Method("Drain", &AsyncStreamer::Drain)
        .Method("Produced", &AsyncStreamer::Produced, {.concurrency_group = "probe"});

const bool kTaskCount = weft::RemoteFunction("TaskCount", &TaskCount);

}  // namespace
}  // namespace weft::testing
