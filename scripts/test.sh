#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, runs every unit and
# integration test (real processes on 127.0.0.1), then rebuilds with AddressSanitizer +
# UndefinedBehaviorSanitizer and runs the suite again.
# ALLUVIUM_SKIP_SANITIZERS=1 runs only the main suite (quicker while developing).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/s3rver.sh install >/dev/null  # the S3 tests' server (npm registry)

run_suite() {  # build dir, label
  echo "== $2: ctest in $1"
  (cd "$1" && ctest -j "$(nproc)" --timeout 600 --output-on-failure)
}

start=$(date +%s)
scripts/build.sh build
run_suite build "main suite"

if [ "${ALLUVIUM_SKIP_SANITIZERS:-0}" != 1 ]; then
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DALLUVIUM_SANITIZE=ON \
    -DALLUVIUM_BUILD_BENCH=OFF
  # The 100k-key S3 listing checks paging, not memory safety: 10k is enough under ASan.
  ALLUVIUM_S3_LIST_PREFIXES=10 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan "AddressSanitizer + UndefinedBehaviorSanitizer"
fi
echo "== all suites passed in $(( $(date +%s) - start )) s"
