#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds, starts a two-node local
# cluster in throw-away session dirs, runs the quickstart driver and two seed examples (an
# async actor and a threaded actor) against it, and stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target weft weft-raylet weft-worker quickstart async_actor threaded_actor

session=$(mktemp -d /tmp/weft-quickstart-XXXXXX)
second=$(mktemp -d /tmp/weft-quickstart-node-XXXXXX)
trap 'build/bin/weft stop --session-dir "$second"; build/bin/weft stop --session-dir "$session";
      rm -rf "$session" "$second"' EXIT
build/bin/weft start --head --port 0 --num-cpus 2 --session-dir "$session"
build/bin/weft start --address "$(cat "$session/head_address")" --token-file "$session/token" \
  --num-cpus 2 --session-dir "$second"
build/bin/weft status --session-dir "$session"
export WEFT_SESSION_DIR="$session"
build/bin/quickstart
build/bin/async_actor
build/bin/threaded_actor
