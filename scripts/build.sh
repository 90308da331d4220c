#!/usr/bin/env bash
# Configures and builds Weft into ./build (2 parallel jobs). Extra args go to the build step,
# e.g. `scripts/build.sh --target weft`.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"${WEFT_BUILD_JOBS:-2}" "$@"
