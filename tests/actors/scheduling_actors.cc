#include "tests/actors/scheduling_actors.h"

#include <weft/weft.h>

#include <vector>

#include "tests/actors/test_actors.h"

namespace weft::testing {

int SpawnChildren(int children, int ms) {
  std::vector<weft::ObjectRef<int>> refs;
  for (int i = 0; i < children; ++i) refs.push_back(weft::Task(&PidAfter).Remote(ms));
  int done = 0;
  for (const auto& ref : refs) done += ref.Get() > 0 ? 1 : 0;
  return done;
}

namespace {
const bool kSpawnChildren = weft::RemoteFunction("SpawnChildren", &SpawnChildren);
}  // namespace

}  // namespace weft::testing
