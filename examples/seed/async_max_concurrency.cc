// Seed example "Setting concurrency in async actors": with max_concurrency 2 only two calls
// run at once; once two finish, the next two start.

#include <weft/weft.h>

#include <iostream>
#include <vector>

class AsyncActor {
 public:
  explicit AsyncActor(int batch_size) : batch_size_(batch_size) {}

  weft::Async<void> RunTask() {
    std::cout << "Started task" << std::endl;
    ++curr_tasks_;
    if (curr_tasks_ == batch_size_) {
      event_.Set();
    } else {
      co_await event_.Wait();
      event_.Clear();
      curr_tasks_ = 0;
    }
    std::cout << "Finished task" << std::endl;
  }

 private:
  weft::Event event_;
  int curr_tasks_ = 0;
  int batch_size_;
};

static const auto kAsyncActor = weft::ActorClass<AsyncActor>("AsyncActor")
                                    .Constructor<int>()
                                    .Method("RunTask", &AsyncActor::RunTask);

int main() {
  weft::Init();
  auto actor = weft::Actor<AsyncActor>({.max_concurrency = 2}).Remote(2);
  // Only 2 tasks will run concurrently. Once 2 finish, the next 2 should run.
  std::vector<weft::ObjectRef<void>> refs;
  for (int i = 0; i < 8; ++i) refs.push_back(actor.Call(&AsyncActor::RunTask));
  for (const auto& ref : refs) ref.Get(std::chrono::seconds(30));
  weft::Shutdown();
}
