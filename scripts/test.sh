#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, runs every unit and
# integration test (real processes on 127.0.0.1, the chaos, fault and bad-input suites included),
# then rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite again,
# runs the concurrency-heavy tests under ThreadSanitizer, and fuzzes the parsers for a bounded
# time (scripts/fuzz.sh, clang + libFuzzer).
# ALLUVIUM_SKIP_SANITIZERS=1 runs only the main suite (quicker while developing).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/s3rver.sh install >/dev/null  # the S3 tests' server (npm registry)

run_suite() {  # build dir, label, [ctest args...]
  local dir=$1 label=$2
  shift 2
  echo "== $label: ctest in $dir"
  (cd "$dir" && ctest -j "$(nproc)" --timeout 600 --output-on-failure "$@")
}

# The tests where threads meet: the worker's loaders and read-through, the page store and its
# short-circuit readers, membership, the FUSE mount's per-file read-ahead,
# the S3 transport pool, and whole clusters loading while processes die (the cluster's processes
# are built with TSan too, and halt on the first race, which fails the test).
tsan_tests='LoadExecutor|LoadPins|RateLimiter|SingleFlight|ReadThrough|StatusCache|UfsRegistry|PageStore|ShortCircuit|MetadataCache|FileReader|ReadPaths|WorkerRegistry|S3FileSystem|S3Faults|^LoadTest\.|Chaos'

start=$(date +%s)
scripts/build.sh build
run_suite build "main suite"

if [ "${ALLUVIUM_SKIP_SANITIZERS:-0}" != 1 ]; then
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DALLUVIUM_SANITIZE=ON \
    -DALLUVIUM_BUILD_BENCH=OFF
  # The 100k-key S3 listing checks paging, not memory safety: 10k is enough under ASan.
  ALLUVIUM_S3_LIST_PREFIXES=10 ALLUVIUM_CHAOS_ROUNDS=2 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan "AddressSanitizer + UndefinedBehaviorSanitizer"

  # Only what the TSan tests need: instrumented gRPC-heavy code compiles slowly.
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLUVIUM_TSAN=ON \
    -DALLUVIUM_BUILD_BENCH=OFF > /dev/null
  ninja -C build-tsan -j "${ALLUVIUM_BUILD_JOBS:-$(nproc)}" alluvium load_executor_test worker_test \
    page_store_test short_circuit_test metadata_cache_test fuse_unit_test read_paths_test \
    coordinator_test s3_ufs_test load_test chaos_test
  ALLUVIUM_S3_LIST_PREFIXES=10 ALLUVIUM_CHAOS_ROUNDS=2 \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp" \
    run_suite build-tsan "ThreadSanitizer (concurrency-heavy tests)" -R "$tsan_tests"

  FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
fi
echo "== all suites passed in $(( $(date +%s) - start )) s"
