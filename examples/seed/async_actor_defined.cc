// Seed example "Defining an async actor": a class with a coroutine method gets an event loop;
// all five calls start at once and run concurrently.

#include <weft/weft.h>

#include <iostream>
#include <vector>

class AsyncActor {
 public:
  explicit AsyncActor(int expected_num_tasks) : expected_num_tasks_(expected_num_tasks) {}

  weft::Async<void> RunTask() {
    std::cout << "Started task" << std::endl;
    ++curr_num_tasks_;
    if (curr_num_tasks_ == expected_num_tasks_) {
      event_.Set();
    } else {
      // Yield the event loop for multiple coroutines to run concurrently.
      co_await event_.Wait();
    }
    std::cout << "Finished task" << std::endl;
  }

 private:
  weft::Event event_;
  int curr_num_tasks_ = 0;
  int expected_num_tasks_;
};

static const auto kAsyncActor = weft::ActorClass<AsyncActor>("AsyncActor")
                                    .Constructor<int>()
                                    .Method("RunTask", &AsyncActor::RunTask);

int main() {
  weft::Init();
  auto actor = weft::Actor<AsyncActor>().Remote(5);
  // All 5 tasks will start at once and run concurrently.
  std::vector<weft::ObjectRef<void>> refs;
  for (int i = 0; i < 5; ++i) refs.push_back(actor.Call(&AsyncActor::RunTask));
  for (const auto& ref : refs) ref.Get(std::chrono::seconds(30));
  weft::Shutdown();
}
