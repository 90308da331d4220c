// Seed example "AsyncIO for remote tasks": a coroutine cannot be a remote task (registering
// one fails to compile, with a message that shows the wrapper); the wrapper runs it to
// completion with weft::RunSync.

#include <weft/weft.h>

#include <iostream>

weft::Async<int> F() {
  co_await weft::Sleep(std::chrono::milliseconds(1));
  co_return 42;
}

// static const bool kF = weft::RemoteFunction("F", &F);  // does not compile: see the wrapper

int Wrapper() { return weft::RunSync(F()); }
static const bool kWrapper = weft::RemoteFunction("Wrapper", &Wrapper);

int main() {
  weft::Init();
  std::cout << weft::Get(weft::Task(&Wrapper).Remote()) << std::endl;
  weft::Shutdown();
}
