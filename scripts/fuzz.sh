#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 60) on its corpus: the seeds of
# fuzz/corpus/<target> and what earlier runs found (build-sanitize/fuzz/corpus/<target>).
# Builds ./build-sanitize first (clang, ASan, UBSan: see scripts/test.sh --sanitize). An input
# that crashes is written to build-sanitize/fuzz/<target>-crash-*: fix the bug, then keep the
# input in fuzz/corpus/<target> as a regression case.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
cmake -S . -B build-sanitize -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DWEFT_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"${WEFT_BUILD_JOBS:-2}" --target call_args_fuzz head_requests_fuzz \
  text_inputs_fuzz node_requests_fuzz worker_requests_fuzz
export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
status=0
for target in call_args_fuzz head_requests_fuzz text_inputs_fuzz node_requests_fuzz worker_requests_fuzz; do
  corpus="build-sanitize/fuzz/corpus/$target"
  mkdir -p "$corpus"
  cp -r "fuzz/corpus/$target/." "$corpus/"
  echo "== $target: ${SECONDS_EACH} s"
  "build-sanitize/fuzz/$target" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=30 \
    -artifact_prefix="build-sanitize/fuzz/$target-" "$corpus" || status=1
done
exit $status
