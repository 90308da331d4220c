#!/usr/bin/env bash
# Builds Weft's container image (deploy/container/Containerfile) and runs a cluster of
# containers with it on this machine, the way deploy/kubernetes lays it out: a head (no local
# node, its state on a volume), two nodes (1 CPU each, advertising their own IP) and a driver
# (weft-cluster-tour, which must see its actors on both nodes), each in a container of its own
# on a podman network of its own with no way out (--internal). It checks the probes the
# manifests use, the CLI with the token alone and with the CA, a token rotation, a head
# replaced on its volume (which takes its cluster over), the driver after each, then removes
# every container, the network and the volume. The image stays.
#
#   scripts/container-cluster.sh [--from-source] [--image NAME] [--base IMAGE] [--keep|--down]
#     --from-source  build the image's default target: Weft compiled inside the image build
#                    (31 minutes on 2 busy cores); else from this machine's build (build/,
#                    Debian 12 only), installed into the image (the Containerfile's `prebuilt`)
#     --image NAME   the image's name (default localhost/weft:0.1.0)
#     --base IMAGE   the Debian 12 image to start from (default: debian:12 when this machine
#                    has it, else localhost/debian:12, which deploy/container/base-image.sh
#                    makes from Debian's packages)
#     --keep         leave the cluster running (remove it with --down)
#     --down         remove what a --keep run left
# Needs root and podman; pulls nothing. Prints each step's time.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

image=localhost/weft:0.1.0 from_source=0 keep=0 down=0 base=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --from-source) from_source=1; shift ;;
    --image) image=${2:?}; shift 2 ;;
    --base) base=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    --down) down=1; shift ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "container-cluster: run it as root" >&2; exit 2; }
command -v podman >/dev/null || { echo "container-cluster: apt-get install podman" >&2; exit 2; }

net=weft-cluster-net subnet=10.89.70 volume=weft-cluster-head-state head_mac=02:42:0a:59:46:0a
containers=(weft-driver weft-node-2 weft-node-1 weft-head)
tmp=""
down() {
  podman rm -f -t 5 "${containers[@]}" >/dev/null 2>&1 || true
  podman network rm -f "$net" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
}
if [[ $down -eq 1 ]]; then
  down
  rm -rf "$(cat /run/weft-container-cluster 2>/dev/null || echo /nonexistent)"
  rm -f /run/weft-container-cluster
  echo "container-cluster: removed"
  exit 0
fi
# Whatever happens, what this run made goes (but the image), unless --keep.
on_exit() {
  if [[ $keep -eq 1 && -n $tmp ]]; then echo "$tmp" >/run/weft-container-cluster; return; fi
  down
  [[ -n $tmp ]] && rm -rf "$tmp"
  return 0
}
trap on_exit EXIT
trap "exit 1" INT TERM

started=$SECONDS
step_start=$SECONDS
step() {
  echo "== [$((SECONDS - step_start)) s] $*"
  step_start=$SECONDS
}
fail() {
  echo "FAIL: $*" >&2
  for c in "${containers[@]}"; do
    podman container exists "$c" && { echo "--- logs of $c" >&2; podman logs --tail 20 "$c" >&2; }
  done
  exit 1
}

runtime=()
pm() { podman "${runtime[@]}" "$@"; }

step "base image"
# Debian's image where this machine has it (podman pull debian:12, where a registry answers);
# nothing is pulled here: else localhost/debian:12, made from Debian's packages.
base=${base:-docker.io/library/debian:12}
if ! podman image exists "$base"; then
  base=localhost/debian:12
  deploy/container/base-image.sh "$base"
fi
# How this machine runs containers: the default runtime with the open-file limit the units set
# (1048576), else what works here. crun 1.8 refuses a machine whose cgroup v2 hierarchy has
# controllers beside v1 ("cgroups in hybrid mode not supported"), where runc runs; a root without
# CAP_SYS_RESOURCE (a sandbox) cannot give a container more files or processes than it has.
hard_files=$(ulimit -Hn) pid_max=$(cat /proc/sys/kernel/pid_max)
found=0
for rt in "" runc; do
  [[ -z $rt ]] || command -v "$rt" >/dev/null || continue
  for limits in "nofile=1048576:1048576" "nofile=$hard_files:$hard_files nproc=$pid_max:$pid_max"; do
    runtime=(${rt:+--runtime "$rt"})
    ulimits=()
    for l in $limits; do ulimits+=(--ulimit "$l"); done
    if pm run --rm --network none "${ulimits[@]}" "$base" true >/dev/null 2>&1; then
      found=1
      break 2
    fi
  done
done
[[ $found -eq 1 ]] || fail "podman cannot run a container here (try: apt-get install runc)"
echo "containers run with runtime ${rt:-default}, ${ulimits[*]}"

step "image $image from $base"
if [[ $from_source -eq 1 ]]; then
  pm build -q -f deploy/container/Containerfile --build-arg BASE="$base" -t "$image" . >/dev/null
else
  grep -q '^12' /etc/debian_version 2>/dev/null ||
    fail "the image takes this machine's build only on Debian 12: pass --from-source"
  tmp=$(mktemp -d /var/tmp/weft-container-cluster-XXXXXX)
  [[ -f build/CMakeCache.txt ]] || cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake -S . -B build >/dev/null  # deploy/ may be newer than the cache
  cmake --build build -j2 --target weft weft-raylet weft-worker weft_client weft-cluster-tour \
    >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log" >&2; fail "build"; }
  cmake --install build --prefix "$tmp/context/weft" --strip >/dev/null
  cmake --install build --prefix "$tmp/context/weft" --component tour --strip >/dev/null
  pm build -q -f deploy/container/Containerfile --build-arg BASE="$base" --target prebuilt \
    -t "$image" "$tmp/context" >/dev/null
fi
echo "$image: $(podman image inspect -f '{{.Size}}' "$image") bytes"

step "network $net ($subnet.0/24, internal), the token, the head's volume"
down  # what a run that was killed left
[[ -n $tmp ]] || tmp=$(mktemp -d /var/tmp/weft-container-cluster-XXXXXX)
pm network create --internal --subnet "$subnet.0/24" "$net" >/dev/null
# The token, as a Kubernetes Secret volume with fsGroup 10001 gives it: root's, group-readable.
mkdir -p "$tmp/token"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/token/token"
chown -R 0:10001 "$tmp/token" && chmod 0750 "$tmp/token" && chmod 0440 "$tmp/token/token"
# The head's volume, as a PersistentVolume with fsGroup 10001: group-writable, setgid.
pm volume create "$volume" >/dev/null
state=$(podman volume inspect -f '{{.Mountpoint}}' "$volume")
chown 0:10001 "$state" && chmod 2770 "$state"
common=(--network "$net" --add-host "weft-head:$subnet.10" "${ulimits[@]}"
  --security-opt no-new-privileges)

step "head (the init step, then weft-raylet --head), as deploy/kubernetes/head.yaml"
head_mounts=(-v "$volume:/var/lib/weft" -v "$tmp/token:/etc/weft/token:ro")
pm run --rm "${common[@]}" "${head_mounts[@]}" "$image" sh -c \
  'mkdir -p -m 0700 /var/lib/weft/session && { test -s /var/lib/weft/session/token ||
   install -m 0600 /etc/weft/token/token /var/lib/weft/session/token; }'
# A fixed MAC address: a head container started again keeps its link-layer identity, as a
# machine restarting its head does (and a Service's address does on Kubernetes). With a new MAC
# at the same IP, the other containers' neighbour entries point at the old one: their
# connections to the head time out for 30-45 s, and the nodes fence meanwhile.
run_head() {
  pm run -d --name weft-head --hostname weft-head --ip "$subnet.10" --mac-address "$head_mac" \
    "${common[@]}" \
    "${head_mounts[@]}" -e WEFT_SESSION_DIR=/var/lib/weft/session --cpus 1 --memory 1g \
    "$image" weft-raylet --head --host=0.0.0.0 --port=7070 --advertise-address=weft-head \
    --session-dir=/var/lib/weft/session --token-file=/var/lib/weft/session/token --num-cpus=0 \
    >/dev/null
}
head_probe=(weft status --address=127.0.0.1:7070 --token-file=/var/lib/weft/session/token)
wait_head() {
  for _ in $(seq 150); do
    podman exec weft-head "${head_probe[@]}" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "the head's probe (${head_probe[*]}) did not pass within 30 s"
}
run_head
wait_head
echo "head probe passes: ${head_probe[*]}"

step "two nodes, as deploy/kubernetes/nodes.yaml (1 CPU, 2 GiB each)"
for i in 1 2; do
  ip=$subnet.1$i
  pm run -d --name "weft-node-$i" --hostname "weft-node-$i" --ip "$ip" "${common[@]}" \
    -v "$tmp/token:/etc/weft/token:ro" --shm-size 1g --cpus 1 --memory 2g \
    -e POD_IP="$ip" -e WEFT_SESSION_DIR=/var/lib/weft/session "$image" \
    weft-raylet --address=weft-head:7070 --host=0.0.0.0 --port=7071 --advertise-address="$ip" \
    --session-dir=/var/lib/weft/session --token-file=/etc/weft/token/token --num-cpus=1 \
    --memory=2147483648 --object-store-memory=512MiB >/dev/null
done
# The nodes' readiness probe: the head lists this node ALIVE.
node_probe='weft list nodes --address=weft-head:7070 --token-file=/etc/weft/token/token |
  awk -v me="$POD_IP:7071" '\''$2 == me && $3 == "ALIVE" {found = 1} END {exit !found}'\'
wait_nodes() {
  local i ready
  for _ in $(seq 150); do
    ready=0
    for i in 1 2; do
      podman exec "weft-node-$i" sh -c "$node_probe" >/dev/null 2>&1 && ready=$((ready + 1))
    done
    [[ $ready -eq 2 ]] && return 0
    sleep 0.2
  done
  fail "$ready of 2 nodes pass their readiness probe after 30 s"
}
wait_nodes
# Their liveness probe: a TCP connection to the node's port (from the head's container here).
for i in 1 2; do
  podman exec weft-head bash -c "exec 3<>/dev/tcp/$subnet.1$i/7071" ||
    fail "node $i does not accept connections on 7071"
done
echo "node probes pass (readiness: listed ALIVE by the head; liveness: port 7071 open)"
podman exec weft-head weft status --session-dir /var/lib/weft/session

export WEFT_TOKEN
WEFT_TOKEN=$(cat "$tmp/token/token")
driver=(pm run --rm --name weft-driver --hostname weft-driver --ip "$subnet.20" "${common[@]}"
  -e WEFT_ADDRESS=weft-head:7070 -e WEFT_TOKEN "$image")

step "driver: weft-cluster-tour --min-hosts 2 (as deploy/kubernetes/driver-job.yaml)"
"${driver[@]}" weft-cluster-tour --min-hosts 2 | tee "$tmp/tour.log" || fail "the tour failed"
grep -q '^tour passed: 2 actors on 2 hosts (weft-node-1 weft-node-2)' "$tmp/tour.log" ||
  fail "the actors did not run on both nodes"

step "the CLI on a machine without the cluster's files (token only): weft list actors"
"${driver[@]}" weft list actors --address weft-head:7070 | tee "$tmp/actors.log"
[[ $(grep -c ' Where ' "$tmp/actors.log") -eq 2 ]] || fail "weft list actors shows no 2 Where actors"

step "the same with the cluster's CA given (WEFT_TLS_CA), as on a driver machine: weft status"
podman cp weft-head:/var/lib/weft/session/tls/ca.pem "$tmp/ca.pem"
chmod 0644 "$tmp/ca.pem"
pm run --rm "${common[@]}" -v "$tmp/ca.pem:/etc/weft/ca.pem:ro" -e WEFT_ADDRESS=weft-head:7070 \
  -e WEFT_TOKEN -e WEFT_TLS_CA=/etc/weft/ca.pem "$image" weft status ||
  fail "weft status with WEFT_TLS_CA"

step "token rotation, as README.md says for Kubernetes: rotate, then update the Secret"
old_token=$WEFT_TOKEN
podman exec weft-head weft token rotate --session-dir /var/lib/weft/session --grace 2s ||
  fail "weft token rotate"
WEFT_TOKEN=$(podman exec weft-head cat /var/lib/weft/session/token)
[[ $WEFT_TOKEN != "$old_token" ]] || fail "the head's session still holds the old token"
printf '%s\n' "$WEFT_TOKEN" >"$tmp/token/token"  # kubectl apply of the new Secret
sleep 3                                         # the grace is over
WEFT_TOKEN=$old_token "${driver[@]}" weft status >/dev/null 2>&1 &&
  fail "the old token still opens the cluster after the grace"
"${driver[@]}" weft-cluster-tour --min-hosts 2 | tail -1 | tee "$tmp/tour-rotated.log"
grep -q '^tour passed' "$tmp/tour-rotated.log" || fail "the tour failed with the new token"

step "the head's pod is replaced: stopped (SIGTERM), the init step again, started on its volume"
podman stop -t 15 weft-head >/dev/null
pm run --rm "${common[@]}" "${head_mounts[@]}" "$image" sh -c \
  'mkdir -p -m 0700 /var/lib/weft/session && { test -s /var/lib/weft/session/token ||
   install -m 0600 /etc/weft/token/token /var/lib/weft/session/token; }'
podman start weft-head >/dev/null
restarted=$SECONDS
wait_head
echo "the head answers again after $((SECONDS - restarted)) s"
wait_nodes
echo "both nodes ALIVE again after $((SECONDS - restarted)) s"
podman exec weft-head weft list nodes --session-dir /var/lib/weft/session | tee "$tmp/nodes.log"
# Nothing was lost: both nodes are the ones from before, kept through the head's absence.
[[ $(grep -c ' DEAD ' "$tmp/nodes.log") -eq 0 ]] || fail "a node was declared dead during the restart"
"${driver[@]}" weft-cluster-tour --min-hosts 2 | tail -1 | tee "$tmp/tour2.log"
grep -q '^tour passed' "$tmp/tour2.log" || fail "the tour failed after the head's restart"

if [[ $keep -eq 1 ]]; then
  echo "container-cluster: passed; left running (scripts/container-cluster.sh --down removes it)"
  exit 0
fi
step "remove the containers, the network and the volume"
down
echo "container-cluster: passed in $((SECONDS - started)) s; the image $image stays"
