#!/usr/bin/env bash
# Configures and builds one build tree. usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Default BUILD_DIR is build/ (RelWithDebInfo). ccache keeps rebuilds cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
# Two cores, heavy gRPC headers: two compile jobs keep memory and time in check.
ninja -C "$dir" -j "${ALLUVIUM_BUILD_JOBS:-$(nproc)}"
