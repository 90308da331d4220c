// Seed example "AsyncIO for actors": four calls of one coroutine method run concurrently on
// the actor's event loop; each waits on an event that the fourth one sets.

#include <weft/weft.h>

#include <iostream>
#include <vector>

class AsyncActor {
 public:
  explicit AsyncActor(int expected_num_tasks) : expected_num_tasks_(expected_num_tasks) {}

  // Multiple invocations of this method can run concurrently on the same event loop.
  weft::Async<void> RunConcurrent() {
    ++curr_num_tasks_;
    if (curr_num_tasks_ == expected_num_tasks_) {
      std::cout << "All coroutines are executing concurrently, unblocking." << std::endl;
      event_.Set();
    } else {
      std::cout << "Waiting for other coroutines to start." << std::endl;
    }
    co_await event_.Wait();
    std::cout << "All coroutines ran concurrently." << std::endl;
  }

 private:
  weft::Event event_;
  int curr_num_tasks_ = 0;
  int expected_num_tasks_;
};

static const auto kAsyncActor = weft::ActorClass<AsyncActor>("AsyncActor")
                                    .Constructor<int>()
                                    .Method("RunConcurrent", &AsyncActor::RunConcurrent);

int main() {
  weft::Init();
  auto actor = weft::Actor<AsyncActor>().Remote(4);
  std::vector<weft::ObjectRef<void>> refs;
  for (int i = 0; i < 4; ++i) refs.push_back(actor.Call(&AsyncActor::RunConcurrent));

  // Fetch results with a regular Get. Were the calls serialised, the first would wait for
  // the event forever: the timeout turns that into an error.
  for (const auto& ref : refs) ref.Get(std::chrono::seconds(30));

  // Fetch results with co_await, from a coroutine.
  weft::RunSync([](std::vector<weft::ObjectRef<void>> all) -> weft::Async<void> {
    co_await weft::Gather(std::move(all));
  }(refs));
  weft::Shutdown();
}
