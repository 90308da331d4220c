#!/usr/bin/env bash
# Installs exactly the Debian 12 packages that Weft's build and tests need.
# Idempotent: packages already present are left alone, and apt-get runs only when
# something is missing. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config            # toolchain and build
  libgrpc++-dev protobuf-compiler-grpc        # gRPC 1.51 and its protoc plugin
  libprotobuf-dev protobuf-compiler           # Protocol Buffers 3.21
  libabsl-dev                                 # Abseil (Status, Mutex, flat_hash_map)
  libcli11-dev                                # CLI11 for the weft command
  libspdlog-dev libfmt-dev                    # logging
  libgtest-dev libgmock-dev                   # tests
  libasio-dev                                 # standalone Asio (event loops, coroutines)
  libmsgpack-cxx-dev                          # values crossing the wire
  libsqlite3-dev                              # the head's embedded store
  libhiredis-dev                              # the head's store in Redis (--storage redis://)
  libssl-dev                                  # OpenSSL: TLS keys and certificates, SHA-256
  openssl                                     # the openssl command: an operator's own CA in tests
  redis-server                                # tests of a head taking over from Redis
  libcaf-dev                                  # the C++ actor framework weft-bench compares with
  clang libclang-rt-14-dev                    # sanitized build and libFuzzer (test.sh --sanitize)
  python3-kubernetes                          # the Kubernetes API's types: deploy/ manifests checked
  libcpp-httplib-dev                          # cpp-httplib: the head's dashboard and /metrics
  prometheus-cpp-dev                          # metrics, in Prometheus's text format (/metrics)
  chromium chromium-driver                    # headless browser test of the dashboard
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
