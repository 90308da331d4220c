// Seed example "ObjectRefs as concurrent.futures.Futures": futures of many references,
// visited as they complete.

#include <weft/weft.h>

#include <cassert>
#include <iostream>
#include <vector>

int SomeTask() { return 1; }
static const bool kSomeTask = weft::RemoteFunction("SomeTask", &SomeTask);

int main() {
  weft::Init();
  std::vector<weft::ObjectRef<int>> refs;
  for (int i = 0; i < 4; ++i) refs.push_back(weft::Task(&SomeTask).Remote());

  // Each reference as a std::future, for code built on futures.
  std::vector<std::future<int>> futures;
  for (const auto& ref : refs) futures.push_back(ref.Future());

  // As completed: each reference once its value is here, in the order they finish.
  for (const auto& ref : weft::AsCompleted(refs)) {
    assert(ref.IsReady());
    std::cout << ref.Get() << std::endl;
  }
  for (auto& future : futures) future.get();
  weft::Shutdown();
}
