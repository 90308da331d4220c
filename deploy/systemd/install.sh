#!/usr/bin/env bash
# Installs Weft's head or node as a systemd service on this machine (as root).
#
#   install.sh head [--advertise-address ADDR] [--port 7070] [--host 0.0.0.0] [OPTIONS]
#   install.sh node --head HOST:PORT --token-file FILE [--advertise-address ADDR] [--port 0]
#                   [--host 0.0.0.0] [OPTIONS]
# OPTIONS:
#   --prefix DIR   where Weft is installed (cmake --install build --prefix DIR): DIR/bin/weft-raylet,
#                  weft-worker and weft, DIR/lib/libweft.so (default /usr/local)
#   --args FLAGS   more weft-raylet flags, one string: "--num-cpus 8 --memory 32000000000"
#   --no-start     install and enable, start nothing
#   --root DIR     write every file under DIR instead of /, create no user, run no systemctl
#                  (to look at what would be installed; the test suite uses it)
#
# What it does: creates the system user `weft`, /var/lib/weft (the session dir, mode 0700) and
# /etc/weft/weft.env (the previous one kept as weft.env.old), installs weft-head.service or
# weft-node.service with the prefix's paths, for a node copies the cluster token to
# /var/lib/weft/token (mode 0600), then enables and starts the service and waits until it
# serves. Running it again with other options updates the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "install.sh: $*" >&2; exit 2; }
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

role=${1:-}
[[ $role == head || $role == node ]] || usage
shift
prefix=/usr/local host=0.0.0.0 port="" advertise="" head="" token_file="" args="" root=""
start=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --prefix) prefix=${2:?}; shift 2 ;;
    --host) host=${2:?}; shift 2 ;;
    --port) port=${2:?}; shift 2 ;;
    --advertise-address) advertise=${2:?}; shift 2 ;;
    --head) head=${2:?}; shift 2 ;;
    --token-file) token_file=${2:?}; shift 2 ;;
    --args) args=${2-}; shift 2 ;;
    --no-start) start=0; shift ;;
    --root) root=$(realpath -m "${2:?}"); shift 2 ;;
    -h | --help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -z $root && $(id -u) -ne 0 ]] && die "run it as root (or with --root DIR to look)"
for f in bin/weft-raylet bin/weft-worker bin/weft; do
  [[ -x $prefix/$f ]] || die "no $prefix/$f: install Weft first (cmake --install build --prefix $prefix), or pass --prefix"
done

# The machine's own addresses (global scope), one a line.
own_addresses() { ip -o addr show scope global 2>/dev/null | awk '{split($4, a, "/"); print a[1]}'; }
# The address this machine uses toward HOST (an IP address or a name).
address_toward() {
  local ip
  ip=$(getent ahostsv4 "$1" 2>/dev/null | awk 'NR == 1 {print $1}')
  [[ -n $ip ]] || return 0
  ip -o route get "$ip" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p'
}

if [[ $role == head ]]; then
  port=${port:-7070}
  [[ -z $head && -z $token_file ]] || die "--head and --token-file are for a node"
  if [[ -z $advertise && $host == 0.0.0.0 ]]; then
    mapfile -t addresses < <(own_addresses)
    # With several interfaces the head would advertise its first one's address, which may not
    # be the one the nodes reach: ask which.
    if [[ ${#addresses[@]} -gt 1 ]]; then
      die "this machine has several addresses (${addresses[*]}): pass --advertise-address with the one (or a DNS name) that the nodes and drivers reach"
    fi
  fi
else
  port=${port:-0}
  [[ -n $head ]] || die "a node needs --head HOST:PORT (the address the head advertises)"
  [[ -n $token_file ]] || die "a node needs --token-file FILE (a copy of the head's /var/lib/weft/token)"
  [[ -r $token_file ]] || die "cannot read $token_file"
  token=$(tr -d '[:space:]' <"$token_file")
  [[ ${#token} -ge 16 ]] || die "$token_file holds no cluster token"
  if [[ -z $advertise && -z $root ]]; then
    toward=$(address_toward "${head%:*}")
    [[ -n $toward ]] && echo "install.sh: this node will advertise $toward (its address toward the head; --advertise-address to change it)"
  fi
fi

etc=$root/etc/weft
state=$root/var/lib/weft
units=$root/etc/systemd/system
doc=$root$prefix/share/doc/weft
mkdir -p "$etc" "$state" "$units" "$doc"
if [[ -z $root ]] && ! id weft >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/weft --no-create-home --shell /usr/sbin/nologin weft
  echo "install.sh: created the system user weft"
fi
chmod 0700 "$state"
[[ -z $root ]] && chown weft:weft "$state"

env_file=$etc/weft.env
new_env=$(mktemp)
trap 'rm -f "$new_env"' EXIT
{
  echo "# Written by deploy/systemd/install.sh $role on $(date -u +%F); see weft.env in deploy/systemd."
  echo "WEFT_HOST=$host"
  echo "WEFT_PORT=$port"
  echo "WEFT_ADVERTISE_ADDRESS=$advertise"
  echo "WEFT_HEAD=$head"
  echo "WEFT_ARGS=$args"
} >"$new_env"
if [[ -f $env_file ]] && ! cmp -s <(grep -v '^#' "$env_file") <(grep -v '^#' "$new_env"); then
  cp -p "$env_file" "$env_file.old"
  echo "install.sh: $env_file changed (the previous one is $env_file.old)"
fi
install -m 0644 "$new_env" "$env_file"

unit=weft-$role.service
sed "s|/usr/local/bin/|$prefix/bin/|g; s|file:///usr/local/share/|file://$prefix/share/|" \
  "$here/$unit" >"$units/$unit"
chmod 0644 "$units/$unit"
[[ -f $here/../README.md ]] && install -m 0644 "$here/../README.md" "$doc/deploy-README.md"

if [[ $role == node ]]; then
  install -m 0600 /dev/null "$state/token"
  printf '%s\n' "$token" >"$state/token"
  [[ -z $root ]] && chown weft:weft "$state/token"
fi

if [[ -n $root ]]; then
  echo "install.sh: wrote $units/$unit and $env_file under $root"
  exit 0
fi
if [[ ! -d /run/systemd/system ]]; then
  echo "install.sh: systemd is not running here: installed $units/$unit, started nothing"
  exit 0
fi
systemctl daemon-reload
systemctl enable "$unit"
[[ $start -eq 1 ]] || { echo "install.sh: enabled $unit (not started)"; exit 0; }
systemctl restart "$unit"

# Wait until it serves: the head answers the CLI; a node's raylet records itself.
for _ in $(seq 60); do
  if [[ $role == head ]]; then
    if "$prefix/bin/weft" status --session-dir /var/lib/weft >/dev/null 2>&1; then
      address=$(cat /var/lib/weft/head_address)
      echo "install.sh: the head serves at $address. On each node, with a copy of this machine's"
      echo "  /var/lib/weft/token (mode 0600, it is the cluster's password):"
      echo "  deploy/systemd/install.sh node --head $address --token-file TOKEN"
      exit 0
    fi
  elif ls /var/lib/weft/raylets/* >/dev/null 2>&1 && systemctl is-active -q "$unit"; then
    echo "install.sh: the node joined $head (weft status --session-dir /var/lib/weft lists it)"
    exit 0
  fi
  systemctl is-failed -q "$unit" && break
  sleep 1
done
echo "install.sh: $unit did not come up; its log:" >&2
journalctl -u "$unit" -n 30 --no-pager >&2 || true
exit 1
