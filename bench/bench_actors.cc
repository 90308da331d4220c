#include "bench/bench_actors.h"

#include <unistd.h>

#include <chrono>

namespace weft::bench {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const auto kEcho = ActorClass<Echo>("BenchEcho")
                       .Constructor<>()
                       .Method("SmallValue", &Echo::SmallValue)
                       .Method("SmallValueArg", &Echo::SmallValueArg)
                       .Method("Pid", &Echo::Pid)
                       .Method("Blob", &Echo::Blob)
                       .Method("SharedBlob", &Echo::SharedBlob)
                       .Method("Spin", &Echo::Spin);

const auto kAsyncEcho = ActorClass<AsyncEcho>("BenchAsyncEcho")
                            .Constructor<>()
                            .Method("SmallValue", &AsyncEcho::SmallValue)
                            .Method("SmallValueArg", &AsyncEcho::SmallValueArg)
                            .Method("WaitForSet", &AsyncEcho::WaitForSet)
                            .Method("Set", &AsyncEcho::Set)
                            .Method("Pid", &AsyncEcho::Pid);

const bool kSmallValue = RemoteFunction("BenchSmallValue", &SmallValue);

}  // namespace

int Echo::Pid() { return static_cast<int>(getpid()); }
Async<int> AsyncEcho::Pid() { co_return static_cast<int>(getpid()); }

uint64_t Echo::Spin(int64_t iterations) {
  uint64_t hash = 1469598103934665603ull;
  for (int64_t i = 0; i < iterations; ++i)
    hash = (hash ^ static_cast<uint64_t>(i)) * 1099511628211ull;
  return hash;
}

Async<int64_t> AsyncEcho::WaitForSet() {
  co_await event_.Wait();
  co_return NowNs();
}

int64_t AsyncEcho::Set() {
  const int64_t now = NowNs();
  event_.Set();
  event_.Clear();  // the waiters resume all the same
  return now;
}

int SmallValue() { return 0; }

}  // namespace weft::bench
