// Seed example "Threaded actors": without coroutine methods, max_concurrency 2 gives the actor
// a pool of two threads, and the two calls run in parallel.

#include <weft/weft.h>

#include <iostream>

class ThreadedActor {
 public:
  void Task1() { std::cout << "I'm running in a thread!" << std::endl; }
  void Task2() { std::cout << "I'm running in another thread!" << std::endl; }
};

static const auto kThreadedActor = weft::ActorClass<ThreadedActor>("ThreadedActor")
                                       .Method("Task1", &ThreadedActor::Task1)
                                       .Method("Task2", &ThreadedActor::Task2);

int main() {
  weft::Init();
  auto a = weft::Actor<ThreadedActor>({.max_concurrency = 2}).Remote();
  weft::Get(std::vector{a.Call(&ThreadedActor::Task1), a.Call(&ThreadedActor::Task2)});
  weft::Shutdown();
}
