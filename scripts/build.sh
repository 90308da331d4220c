#!/usr/bin/env bash
# Configures and builds Weft into ./build (2 parallel jobs). Extra args go to the build step,
# e.g. `scripts/build.sh --target weft`.
#
# RelWithDebInfo with -g1: line tables and function names (backtraces, perf and callgrind
# name every frame), not the full debug info of variables and types, which makes the build
# slower on 2 cores. For a debugger's view of locals, set WEFT_RELWITHDEBINFO_FLAGS="-O2 -g"
# (or configure ./build yourself).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="${WEFT_RELWITHDEBINFO_FLAGS:--O2 -g1 -DNDEBUG}" >/dev/null
cmake --build build -j"${WEFT_BUILD_JOBS:-2}" "$@"
