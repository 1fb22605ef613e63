#!/usr/bin/env bash
# The S3-compatible server the S3 tests run against (s3rver, pinned), kept under .tools/ in the repo
# so tests find it without a global install. tests/testing/s3_test_server.cc uses this path.
#   scripts/s3rver.sh install   installs it if missing (quick when present); prints the binary path
#   scripts/s3rver.sh path      prints the binary path, or fails if it is not installed
# Installing also applies scripts/s3rver-listing.patch: stock s3rver lists keys out of S3's order
# and drops or repeats common prefixes (docs/s3.md), which real S3 never does.
# Start it with NODE_OPTIONS=--openssl-legacy-provider: its ListObjectsV2 continuation tokens use
# DES, which Node >= 17 only has with that provider (else every next page is a 500). The test
# fixture sets it.
set -euo pipefail
cd "$(dirname "$0")/.."

version=3.7.1
prefix=$(pwd)/.tools/s3rver
bin=$prefix/node_modules/.bin/s3rver

installed() {  # the right version, not just any s3rver, with our listing fix
  [ -x "$bin" ] &&
    grep -q "\"version\": \"$version\"" "$prefix/node_modules/s3rver/package.json" 2>/dev/null &&
    grep -q "Alluvium patch" "$prefix/node_modules/s3rver/lib/stores/filesystem.js" 2>/dev/null
}

case "${1:-}" in
  install)
    if ! installed; then
      command -v npm >/dev/null || { echo "s3rver.sh: npm not found; run scripts/install-deps.sh" >&2; exit 1; }
      mkdir -p "$prefix"
      # A private package.json keeps npm from walking up into the repo for one.
      [ -f "$prefix/package.json" ] || echo '{"name": "alluvium-tools", "private": true}' > "$prefix/package.json"
      echo "s3rver.sh: installing s3rver@$version into $prefix" >&2
      # npm trusts only Node's built-in CAs; trust the system's too, as curl and apt do, so a
      # machine behind a proxy with its own CA (installed with update-ca-certificates) works.
      if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
        export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
      fi
      npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "s3rver@$version" >&2
      patch -p1 -s -d "$prefix/node_modules/s3rver" < scripts/s3rver-listing.patch
      installed || { echo "s3rver.sh: install finished but $bin is missing" >&2; exit 1; }
    fi
    echo "$bin"
    ;;
  path)
    installed || { echo "s3rver.sh: s3rver $version is not installed; run scripts/s3rver.sh install" >&2; exit 1; }
    echo "$bin"
    ;;
  *)
    echo "usage: scripts/s3rver.sh install|path" >&2
    exit 2
    ;;
esac
