#!/usr/bin/env bash
# Builds and runs weft-bench: Ray's microbenchmark cases on a local Weft cluster of its own,
# each beside the bare gRPC floor (and CAF, when installed) measured in the same run.
#   scripts/bench.sh                       full run (a few minutes), table on stdout
#   scripts/bench.sh --json results.json   also writes the results as JSON
#   scripts/bench.sh --quick               seconds: checks that every case runs
#   scripts/bench.sh --head-scale [...]    weft-head-scale instead: a real head with 1,000
#                                          simulated nodes and 100,000 actors (about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [[ ${1:-} == --head-scale ]]; then
  shift
  scripts/build.sh --target weft-head-scale
  exec build/bin/weft-head-scale "$@"
fi
scripts/build.sh --target weft-bench
build/bin/weft-bench "$@"
