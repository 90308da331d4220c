// Must not compile: a coroutine registered as a remote task. The build of this file is a test
// that passes when the compiler's message shows the wrapper to use instead.
#include <weft/weft.h>

weft::Async<int> F() { co_return 1; }

static const bool kF = weft::RemoteFunction("F", &F);
