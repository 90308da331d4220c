#!/usr/bin/env bash
# A user's project against the installed package, end to end:
#   1. `cmake --install` this build into a temp prefix;
#   2. build examples/external's Counter library and driver with find_package(Weft);
#   3. start a cluster with the installed `weft`, run the driver: the Counter's results and
#      its worker's output, tagged `(Counter pid=...)`, reach the driver;
#   4. only then build a second actor class (Greeter, via weft_add_program) and run its driver
#      against the same cluster: a new class needs no restart.
#
#   package_consumer_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
tmp=$(mktemp -d /tmp/weft-package-test-XXXXXX)
prefix=$tmp/prefix
session=$tmp/session

cleanup() {
  if [[ -x $prefix/bin/weft && -d $session ]]; then
    "$prefix/bin/weft" stop --session-dir "$session" --grace-period 5 >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM  # so that cleanup runs on a ctest time-out too

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Every line of `expected` appears in file `out`.
expect_lines() {
  local out=$1
  shift
  for line in "$@"; do
    grep -qF -- "$line" "$out" || { cat "$out" >&2; fail "missing output line: $line"; }
  done
}

step() { echo "== $*"; }

step "install into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }
for f in bin/weft bin/weft-raylet bin/weft-worker include/weft/weft.h \
  lib/cmake/Weft/WeftConfig.cmake lib/cmake/Weft/WeftConfigVersion.cmake \
  lib/cmake/Weft/WeftTargets.cmake lib/cmake/Weft/WeftProgram.cmake; do
  [[ -e $prefix/$f ]] || fail "not installed: $f"
done
soname=$(objdump -p "$prefix/lib/libweft.so" | awk '/SONAME/ {print $2}')
[[ -n $soname && -e $prefix/lib/$soname ]] || fail "libweft.so has no SONAME, or no $soname"
# The installed worker loads the installed libweft.so, not the build tree's.
resolved=$(ldd "$prefix/bin/weft-worker" | awk -v so="$soname" '$1 == so {print $3}')
[[ -n $resolved && $(realpath "$resolved") == $(realpath "$prefix/lib/$soname") ]] ||
  fail "installed weft-worker resolves $soname to '$resolved', not $prefix/lib"

step "build the Counter library and driver against the package"
project=$tmp/project
cmake -S "$source_dir/examples/external" -B "$project" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; fail "configure"; }
cmake --build "$project" -j2 --target counter_driver >"$tmp/build1.log" 2>&1 ||
  { cat "$tmp/build1.log" >&2; fail "build counter_driver"; }
[[ ! -e $project/greeter_driver ]] || fail "greeter_driver built too early"

step "start a cluster with the installed weft"
"$prefix/bin/weft" start --head --port 0 --session-dir "$session" >"$tmp/start.log" 2>&1 ||
  { cat "$tmp/start.log" >&2; fail "weft start"; }
raylet_pid=$(ls "$session/raylets")
[[ $(readlink "/proc/$raylet_pid/exe") == "$prefix/bin/weft-raylet" ]] ||
  fail "the head is not the installed weft-raylet"

step "run counter_driver"
WEFT_SESSION_DIR=$session timeout 60 "$project/counter_driver" >"$tmp/counter.out" 2>&1 ||
  { cat "$tmp/counter.out" >&2; fail "counter_driver exited with $?"; }
cat "$tmp/counter.out"
expect_lines "$tmp/counter.out" "Add(1) = 11" "Add(2) = 13" "Add(3) = 16" "Value() = 16" \
  "Describe() = counter at 16" "(Counter pid=" "added 3, total 16"

step "build a second actor class while the cluster runs"
cmake --build "$project" -j2 --target greeter_driver >"$tmp/build2.log" 2>&1 ||
  { cat "$tmp/build2.log" >&2; fail "build greeter_driver"; }

step "run greeter_driver on the same cluster"
[[ -d /proc/$raylet_pid ]] || fail "the head went away"
WEFT_SESSION_DIR=$session timeout 60 "$project/greeter_driver" >"$tmp/greeter.out" 2>&1 ||
  { cat "$tmp/greeter.out" >&2; fail "greeter_driver exited with $?"; }
cat "$tmp/greeter.out"
expect_lines "$tmp/greeter.out" "Hello, Ada!" "Hello, Grace!" "Greeted() = 2" \
  "(Greeter pid=" "greeting Grace"
[[ $(ls "$session/raylets") == "$raylet_pid" ]] || fail "the cluster was restarted"

echo "PASS"
