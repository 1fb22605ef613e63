#!/usr/bin/env bash
# Installs the Debian 12 packages Alluvium builds, tests and runs with. Safe to re-run: apt only
# installs what is missing. Runs apt through sudo when not root.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libcpp-httplib-dev libboost-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libcurl4-openssl-dev libssl-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpugixml-dev
  libfuse3-dev fuse3  # `alluvium fuse`: libfuse's low-level API, fusermount3
  curl procps
  python3-torch  # examples/pytorch, run by the FUSE tests: a DataLoader over the mount
  pybind11-dev python3-dev python3-fsspec python3-pytest  # python/: the fsspec filesystem
  rclone fio     # bench/load-s3 (rclone copy), bench/fuse (fio; rclone's mount to compare with)
  clang libclang-rt-14-dev llvm  # scripts/fuzz.sh: libFuzzer, and llvm-symbolizer for reports
)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO=(sudo)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the S3-compatible test server (s3rver, see scripts/s3rver.sh). A machine may
# already have a newer Node.js from elsewhere; Debian's only when there is none.
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages and npm present"
  exit 0
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
