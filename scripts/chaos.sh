#!/usr/bin/env bash
# Chaos run: a head and three nodes on this machine; actors (max_restarts=-1,
# max_task_retries=-1) take numbered calls from several callers and tasks (max_retries=-1)
# compute known values while random workers and node raylets are SIGKILLed and the nodes
# started again. Prints its figures as one JSON line (also to --json FILE) and exits 0 only
# when it passed: every call applied at least once, every task right, no Get past its bound,
# every CPU free at the end, no process left.
#
#   scripts/chaos.sh [--seconds N] [--json FILE] [--seed S]
#
# Builds weft first when ./build has no weft-chaos (WEFT_BIN_DIR points elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${WEFT_BIN_DIR:-build/bin}"
if [ ! -x "$bin/weft-chaos" ]; then
  scripts/build.sh --target weft-chaos
fi
exec "$bin/weft-chaos" "$@"
