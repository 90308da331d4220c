#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, runs every test.
#
#   scripts/test.sh             builds ./build and runs every test
#   scripts/test.sh --sanitize  builds ./build-sanitize with clang, AddressSanitizer and
#                               UndefinedBehaviorSanitizer, and runs every test there, the fuzz
#                               targets a few seconds each. The daemons and workers the tests
#                               start are the sanitized ones, and a report from any process
#                               fails the run.
#     WEFT_SANITIZE_PART=unit   only the unit tests of common, the head and the CLI, and the
#                               fuzz targets, which need part of the build: what CI runs, to
#                               stay well under 30 minutes (the whole suite sanitized needs a build of
#                               about 20 minutes on 2 cores, and twice the suite's time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

if [ "${1:-}" != "--sanitize" ]; then
  scripts/build.sh
  exec ctest --test-dir build --output-on-failure -j2 --timeout 300
fi

PART="${WEFT_SANITIZE_PART:-all}"
# The unit part (CI's) builds at -O0, in half the time of -O1; the whole suite keeps -O1, as its
# daemons and workers run against timed bounds.
optimize=-O1
[ "$PART" = unit ] && optimize=-O0
cmake -S . -B build-sanitize -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$optimize -g1" -DWEFT_SANITIZE=ON >/dev/null
if [ "$PART" = unit ]; then
  # The head's (its dashboard's too), the CLI's and common's unit tests (timers among them), the
  # client library's that need no more (an owner's and a borrower's watches), and the fuzz
  # targets (with the client library, for call_args_fuzz), and the worker's serial queue (its
  # library is built for worker_requests_fuzz): the node's unit tests would need its library
  # built too.
  cmake --build build-sanitize -j"${WEFT_BUILD_JOBS:-2}" --target common_test head_tables_test \
    log_broker_test head_store_test head_services_test cli_render_test cli_actors_unit_test \
    dashboard_unit_test \
    timers_test owner_service_test blob_test shared_bytes_test serial_queue_test call_args_fuzz head_requests_fuzz text_inputs_fuzz \
    node_requests_fuzz worker_requests_fuzz
  selection=(-L "unit|fuzz")
else
  cmake --build build-sanitize -j"${WEFT_BUILD_JOBS:-2}"
  # Not meaningful sanitized: the tests that measure processes' memory (ASan's shadow and its
  # quarantine of freed blocks add hundreds of MiB), the package test (it links a plain
  # program against the sanitized libweft.so) and the benchmark (CAF's own headers have UB).
  selection=(-LE "package|bench"
    -E "SharedObjectsTest|AcrossSessionsTest|ObjectsTest.DroppedLargeResultsAreFreed")
fi
# Leaks are not checked: gRPC and the process-wide runtimes are left for the exit to reclaim.
# Every process writes its reports into build-sanitize/reports: daemons and workers too, whose
# own output goes to session logs that their tests remove.
reports="$PWD/build-sanitize/reports"
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/asan:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan:${UBSAN_OPTIONS:-}"
# Abseil's lock-order checks stay on here (every Weft process turns them off otherwise).
export WEFT_MUTEX_DEADLOCK_DETECTION=1
status=0
ctest --test-dir build-sanitize --output-on-failure -j2 --timeout 600 "${selection[@]}" || status=1
if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitizer reports:"
  for report in "$reports"/*; do echo "== $report"; cat "$report"; done
  status=1
fi
exit $status
