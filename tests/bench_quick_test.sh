#!/usr/bin/env bash
# `weft-bench --quick --repeat 2`: the benchmark builds and runs every case (against its own
# local cluster, the gRPC floor and, when built, the CAF peer) twice, and writes each case's
# medians over both runs to its JSON.
# Timings are not asserted: a short run on a shared CI machine says nothing about speed.
#
#   bench_quick_test.sh BIN_DIR
set -euo pipefail

bin_dir=$(cd "$1" && pwd)
json=$(mktemp /tmp/weft-bench-XXXXXX.json)
trap 'rm -f "$json"' EXIT

"$bin_dir/weft-bench" --quick --repeat 2 --json "$json"

expected=(grpc_unary_sync grpc_unary_callback_128 grpc_bidi_stream grpc_bidi_pingpong_callback grpc_bytes_1MiB
  grpc_bytes_100MiB single_client_get_calls single_client_put_calls single_client_tasks_sync
  single_client_tasks_async 1_1_actor_calls_sync 1_1_actor_calls_async
  1_1_actor_calls_concurrent 1_n_actor_calls_async n_n_actor_calls_async
  n_n_actor_calls_with_arg_async 1_1_async_actor_calls_sync 1_1_async_actor_calls_async
  1_1_async_actor_calls_with_args_async 1_n_async_actor_calls_async
  n_n_async_actor_calls_async async_event_fanout_1000 threaded_speedup get_large_1MiB
  get_large_100MiB get_large_100MiB_same_node get_large_100MiB_cross_node
  large_result_retained_bytes actor_creation actor_creation_persisted)
if [[ -x $bin_dir/caf-peer ]]; then
  expected+=(caf_actor_calls_sync caf_actor_calls_async caf_n_n_actor_calls_async)
fi
missing=0
for name in "${expected[@]}"; do
  # Every case is present and measured something.
  if ! grep -Eq "\"name\": \"$name\", \"ops_per_s\": [0-9.]*[1-9]" "$json"; then
    echo "missing or empty case: $name" >&2
    missing=1
  fi
  # ... in both runs.
  row=$(grep "\"name\": \"$name\"" "$json" || true)
  if [[ $row != *'"repeats": 2,'* ]]; then
    echo "case $name was not measured in both runs" >&2
    missing=1
  fi
done
# Each Weft case that names a floor got its ratio.
if grep -Eq '"floor": "grpc_[a-z0-9_]+", "ratio": null' "$json"; then
  echo "a case has a floor but no ratio" >&2
  missing=1
fi
exit $missing
