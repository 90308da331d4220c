// Seed example "ObjectRefs as asyncio.Futures": a reference can be awaited in a coroutine,
// waited on, or turned into a std::future.

#include <weft/weft.h>

#include <iostream>
#include <vector>

int SomeTask() { return 1; }
static const bool kSomeTask = weft::RemoteFunction("SomeTask", &SomeTask);

// Instead of blocking with Get and Wait...
void BlockingStyle() {
  std::cout << weft::Get(weft::Task(&SomeTask).Remote()) << std::endl;
  weft::Wait(std::vector{weft::Task(&SomeTask).Remote()});
}

// ...await references in a coroutine.
weft::Async<void> AwaitObjRef() {
  std::cout << co_await weft::Task(&SomeTask).Remote() << std::endl;
  std::vector<weft::ObjectRef<int>> refs{weft::Task(&SomeTask).Remote()};
  co_await weft::Gather(std::move(refs));
}

// Or use the reference as a std::future.
void ConvertToFuture() {
  weft::ObjectRef<int> ref = weft::Task(&SomeTask).Remote();
  std::future<int> future = ref.Future();
  std::cout << future.get() << std::endl;
}

int main() {
  weft::Init();
  BlockingStyle();
  weft::RunSync(AwaitObjRef());
  ConvertToFuture();
  weft::Shutdown();
}
