#!/usr/bin/env bash
# Checks deploy/systemd: install.sh writes the units and /etc/weft/weft.env as it should (in a
# scratch root), each flag of the units' ExecStart is one `weft-raylet --help` lists, and the
# command lines systemd would run, with that env file, start a head and a node that joins it
# (on 127.0.0.1, in scratch session dirs). Then `systemd-analyze verify` reads both units,
# where systemd-analyze is installed.
#
#   check_units.sh BIN_DIR     (BIN_DIR holds weft, weft-raylet and weft-worker)
set -euo pipefail

bin_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/weft-units-check-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

prefix=$tmp/prefix
mkdir -p "$prefix/bin"
for f in weft weft-raylet weft-worker; do ln -s "$bin_dir/$f" "$prefix/bin/$f"; done

# Every --flag of the unit's ExecStart exists.
flags=$("$bin_dir/weft-raylet" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
for unit in weft-head.service weft-node.service; do
  for flag in $(sed -n '/^ExecStart=/,/[^\\]$/p' "$here/$unit" | grep -o -- '--[a-z][a-z0-9-]*'); do
    grep -qx -- "$flag" <<<"$flags" || fail "$unit: weft-raylet has no flag $flag"
  done
done

# The command line systemd runs for UNIT (installed under ROOT), with the env file's values:
# ${NAME} is one word (empty when empty), $NAME is split into words (none when empty).
command_of() {
  local unit=$1 root=$2 line word name value
  declare -A env=()
  while IFS='=' read -r name value; do
    [[ $name =~ ^[A-Z_]+$ ]] && env[$name]=$value
  done <"$root/etc/weft/weft.env"
  line=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$root/etc/systemd/system/$unit" |
    sed 's/\\$//; s/^ExecStart=//' | tr '\n' ' ')
  words=()
  for word in $line; do
    if [[ $word =~ ^\$\{([A-Z_]+)\}$ ]]; then
      words+=("${env[${BASH_REMATCH[1]}]-}")
    elif [[ $word =~ ^\$([A-Z_]+)$ ]]; then
      for value in ${env[${BASH_REMATCH[1]}]-}; do words+=("$value"); done
    else
      words+=("$word")
    fi
  done
}

# Starts the unit's command with its session dir moved to SESSION; waits for its raylet record.
start_unit() {
  local unit=$1 root=$2 session=$3 log=$4
  command_of "$unit" "$root"
  local i
  for i in "${!words[@]}"; do [[ ${words[$i]} == /var/lib/weft ]] && words[$i]=$session; done
  [[ ${words[0]} == "$prefix/bin/weft-raylet" ]] || fail "$unit runs ${words[0]}, not $prefix/bin/weft-raylet"
  mkdir -p "$session"
  WEFT_SESSION_DIR=$session "${words[@]}" --exit-with-pid $$ >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    ls "$session"/raylets/* >/dev/null 2>&1 && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$log" >&2; fail "$unit's command exited"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "$unit's command did not start within 10 s"
}

echo "== install.sh head, then its command line"
"$here/install.sh" head --root "$tmp/head-root" --prefix "$prefix" --host 127.0.0.1 --port 0 \
  --args "--num-cpus 1 --memory 1000000000" >/dev/null
grep -qx 'WEFT_HOST=127.0.0.1' "$tmp/head-root/etc/weft/weft.env" || fail "head env file"
grep -q "^ExecStart=$prefix/bin/weft-raylet --head" "$tmp/head-root/etc/systemd/system/weft-head.service" ||
  fail "the head unit does not run $prefix/bin/weft-raylet"
start_unit weft-head.service "$tmp/head-root" "$tmp/head-session" "$tmp/head.log"
head_address=$(cat "$tmp/head-session/head_address")

echo "== install.sh node --head $head_address, then its command line"
"$here/install.sh" node --root "$tmp/node-root" --prefix "$prefix" --host 127.0.0.1 \
  --head "$head_address" --token-file "$tmp/head-session/token" \
  --args "--num-cpus 2 --memory 1000000000" >/dev/null
[[ $(stat -c %a "$tmp/node-root/var/lib/weft/token") == 600 ]] || fail "the node's token is not mode 0600"
mkdir -p "$tmp/node-session"
install -m 0600 "$tmp/node-root/var/lib/weft/token" "$tmp/node-session/token"
start_unit weft-node.service "$tmp/node-root" "$tmp/node-session" "$tmp/node.log"

alive=0
for _ in $(seq 100); do
  alive=$("$bin_dir/weft" list nodes --session-dir "$tmp/head-session" | grep -c ' ALIVE ' || true)
  [[ $alive -eq 2 ]] && break
  sleep 0.1
done
[[ $alive -eq 2 ]] || { "$bin_dir/weft" list nodes --session-dir "$tmp/head-session"; fail "$alive of 2 nodes ALIVE"; }
echo "the head and the node the units start: 2 nodes ALIVE"

if command -v systemd-analyze >/dev/null; then
  for root in head-root node-root; do
    unit=$(ls "$tmp/$root/etc/systemd/system/")
    # Only its own file is judged: "User weft" and the env file exist on a real install only.
    out=$(systemd-analyze verify "$tmp/$root/etc/systemd/system/$unit" 2>&1 | grep -F "$unit" || true)
    [[ -z $out ]] || fail "systemd-analyze verify $unit: $out"
  done
  echo "systemd-analyze verify: both units ok"
else
  echo "systemd-analyze is not installed: the units' syntax was not verified"
fi
echo "deploy/systemd: passed"
