#pragma once

// Functions the scheduling tests run as remote tasks. They live in the test actor library
// (libweft_test_actors.so) beside test_actors.h.

namespace weft::testing {

// Submits `children` tasks that each hold a CPU for `ms` (PidAfter), Gets them all (so the
// caller blocks in weft::Get while they run) and returns how many came back.
int SpawnChildren(int children, int ms);

}  // namespace weft::testing
