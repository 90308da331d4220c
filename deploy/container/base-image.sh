#!/usr/bin/env bash
# Makes the base image Weft's Containerfile starts from, when no registry can be reached:
# a minimal Debian 12 (bookworm) tree from Debian's own packages (debootstrap), imported into
# podman as IMAGE (default localhost/debian:12). Where docker.io is reachable, `debian:12`
# is the same thing and this script is not needed.
#
#   deploy/container/base-image.sh [IMAGE] [MIRROR]
# Needs root, debootstrap and podman (apt-get install debootstrap podman). About 3 minutes
# and 120 MiB; does nothing when IMAGE exists.
set -euo pipefail
image=${1:-localhost/debian:12}
mirror=${2:-http://deb.debian.org/debian}
if podman image exists "$image"; then
  echo "base-image: $image exists"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "base-image: apt-get install debootstrap" >&2; exit 2; }
work=$(mktemp -d /var/tmp/weft-base-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "base-image: debootstrap bookworm from $mirror (minbase)"
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# As Debian's official image: the release, its updates and security updates, in deb822 form;
# no package lists or downloaded packages kept.
rm -f "$work/rootfs/etc/apt/sources.list"
security=${mirror%/debian}/debian-security
cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/archives/"*.deb
tar --numeric-owner -C "$work/rootfs" -c . |
  podman import --quiet --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "base-image: made $image ($(podman image inspect -f '{{.Size}}' "$image") bytes)"
