#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds, starts a local cluster
# in a throw-away session dir, runs the quickstart driver against it, and stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target weft weft-raylet weft-worker quickstart

session=$(mktemp -d /tmp/weft-quickstart-XXXXXX)
trap 'build/bin/weft stop --session-dir "$session"; rm -rf "$session"' EXIT
build/bin/weft start --head --port 0 --num-cpus 2 --session-dir "$session"
build/bin/weft status --session-dir "$session"
WEFT_SESSION_DIR="$session" build/bin/quickstart
