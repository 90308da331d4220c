// Concurrency groups, as Ray's `concurrency_groups={"io": 2, "compute": 4}`: each group runs
// its methods' calls up to its own limit, apart from the other groups, on one async actor's
// event loop (a thread-pool actor gets threads of its own per group). A call may choose its
// group with Options, as Ray's `.options(concurrency_group=...)`.
//
// Prints, for each group, how many of its calls ran at once at most:
//   io: 2 at once
//   compute: 4 at once
//   default, sent to io: 2 at once

#include <weft/weft.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <string>
#include <vector>

class AsyncIoActor {
 public:
  weft::Async<int> F1() { co_return co_await Work("io"); }
  weft::Async<int> F2() { co_return co_await Work("io"); }
  weft::Async<int> F3() { co_return co_await Work("compute"); }
  weft::Async<int> F4() { co_return co_await Work("compute"); }
  weft::Async<int> F5() { co_return co_await Work("default"); }
  // The most calls of `group` that ran at once so far.
  int MostAtOnce(std::string group) { return most_[group]; }

 private:
  // Counts the calls of `group` in flight while it works for 250 ms.
  weft::Async<int> Work(const std::string& group) {
    const int now = ++running_[group];
    most_[group] = std::max(most_[group], now);
    co_await weft::Sleep(std::chrono::milliseconds(250));
    --running_[group];
    co_return now;
  }
  std::map<std::string, int> running_, most_;  // the loop's thread only: no lock
};

static const auto kAsyncIoActor =
    weft::ActorClass<AsyncIoActor>("AsyncIoActor")
        .ConcurrencyGroup("io", 2)
        .ConcurrencyGroup("compute", 4)
        .Method("F1", &AsyncIoActor::F1, {.concurrency_group = "io"})
        .Method("F2", &AsyncIoActor::F2, {.concurrency_group = "io"})
        .Method("F3", &AsyncIoActor::F3, {.concurrency_group = "compute"})
        .Method("F4", &AsyncIoActor::F4, {.concurrency_group = "compute"})
        .Method("F5", &AsyncIoActor::F5)  // the default group: max_concurrency (1000)
        .Method("MostAtOnce", &AsyncIoActor::MostAtOnce);

int main() {
  weft::Init();
  auto a = weft::Actor<AsyncIoActor>().Remote();
  std::vector<weft::ObjectRef<int>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(a.Call(&AsyncIoActor::F1));  // "io"
    calls.push_back(a.Call(&AsyncIoActor::F2));
    calls.push_back(a.Call(&AsyncIoActor::F3));  // "compute"
    calls.push_back(a.Call(&AsyncIoActor::F4));
  }
  weft::Get(calls);
  std::cout << "io: " << a.Call(&AsyncIoActor::MostAtOnce, std::string("io")).Get() << " at once"
            << std::endl;
  std::cout << "compute: " << a.Call(&AsyncIoActor::MostAtOnce, std::string("compute")).Get()
            << " at once" << std::endl;
  // F5 belongs to the default group; these calls run in "io" instead.
  auto in_io = a.Options({.concurrency_group = "io"});
  calls.clear();
  for (int i = 0; i < 6; ++i) calls.push_back(in_io.Call(&AsyncIoActor::F5));
  weft::Get(calls);
  std::cout << "default, sent to io: "
            << a.Call(&AsyncIoActor::MostAtOnce, std::string("default")).Get() << " at once"
            << std::endl;
  weft::Shutdown();
}
