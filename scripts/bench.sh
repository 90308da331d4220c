#!/usr/bin/env bash
# Builds and runs the benchmarks; each reports its numbers as ratios to the bare gRPC floor
# measured in the same run. Optional argument: calls per measurement (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target ping_bench
build/bin/ping_bench "${1:-2000}"
