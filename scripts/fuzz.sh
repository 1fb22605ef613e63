#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang, ASan and UBSan (in build-fuzz/), then runs
# each for FUZZ_SECONDS (default 20) on a scratch copy of its seed corpus in fuzz/corpus/<target>/,
# so a run never grows the repository. Exits non-zero if any target crashes or breaks a property,
# printing the reproducer's path (rerun it: build-fuzz/fuzz/<target>_fuzzer <file>).
# FUZZ_MERGE=1 merges the inputs that found new coverage back into fuzz/corpus/ (for developers);
# FUZZ_BUILD_DIR overrides build-fuzz.
# usage: scripts/fuzz.sh [target...]   (default: every fuzz/*_fuzzer.cc; see docs/fuzzing.md)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
build=${FUZZ_BUILD_DIR:-build-fuzz}

# The longest input each target gets: enough to pass every length limit of its parser.
max_len_of() {
  case "$1" in
    units) echo 64 ;;
    paths) echo 9000 ;;   # two paths, each past kMaxPathLength (4096)
    s3_xml) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

scripts/install-deps.sh  # clang and libFuzzer (libclang-rt-14-dev) among the rest

start=$(date +%s)
CC=clang CXX=clang++ scripts/build.sh "$build" -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLUVIUM_FUZZ=ON
built=$(date +%s)
echo "== fuzz: built in $((built - start)) s"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/*_fuzzer.cc; do
    name=$(basename "$f" _fuzzer.cc)
    targets+=("$name")
  done
fi

# Scratch space in memory when there is some: the config target writes a file per input.
scratch=${TMPDIR:-/tmp}
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && scratch=/dev/shm
work=$(mktemp -d "$scratch/alluvium-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts="$PWD/$build/fuzz-artifacts"  # crashes are kept here, outside the scratch dir
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

total_runs=0
crashes=0
summary=()
for t in "${targets[@]}"; do
  binary="$build/fuzz/${t}_fuzzer"
  [ -x "$binary" ] || { echo "fuzz: no target '$t' ($binary)" >&2; exit 2; }
  mkdir -p "$work/$t/corpus" "$work/$t/tmp" "$artifacts/$t"
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/$t/corpus/"
  seeds=$(find "$work/$t/corpus" -type f | wc -l)
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len_of "$t")"
        -artifact_prefix="$artifacts/$t/" -print_final_stats=1)
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
  echo "== fuzz: $t for ${seconds} s ($seeds seeds)"
  rc=0
  # TMPDIR: the scratch files of a crashed target go with the rest.
  TMPDIR="$work/$t/tmp" "$binary" "${args[@]}" "$work/$t/corpus" >"$work/$t/log" 2>&1 || rc=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$work/$t/log" | tail -n 1)
  if [ "$rc" -ne 0 ] || [ -z "$runs" ]; then
    crashes=$((crashes + 1))
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/$t/log" | tail -n 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/$t/log" | tail -n 1)
    runs=${runs:-0}
    cp "$work/$t/log" "$artifacts/$t/last.log"
    echo "fuzz: $t FAILED (exit $rc); log follows, also in $artifacts/$t/last.log" >&2
    # What went wrong first (the sanitizer's or FUZZ_CHECK's message), then how it ended.
    grep -E 'runtime error|ERROR:|property violated|^  ' "$work/$t/log" | head -n 10 >&2
    grep -vE '^#[0-9]|NEW_FUNC|^INFO' "$work/$t/log" | tail -n 40 >&2
    echo "fuzz: $t reproducer: ${reproducer:-none written} (run: $binary <file>)" >&2
    summary+=("fuzz: $t: $runs inputs, CRASH ${reproducer:-}")
  else
    corpus=$(find "$work/$t/corpus" -type f | wc -l)
    summary+=("fuzz: $t: $runs inputs in ${seconds} s, corpus $seeds -> $corpus, 0 crashes")
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
      mkdir -p "fuzz/corpus/$t"
      "$binary" -merge=1 -max_len="$(max_len_of "$t")" "fuzz/corpus/$t" "$work/$t/corpus" \
        >"$work/$t/merge.log" 2>&1
      echo "fuzz: $t: merged, fuzz/corpus/$t now has $(find "fuzz/corpus/$t" -type f | wc -l) files"
    fi
  fi
  total_runs=$((total_runs + runs))
done

printf '%s\n' "${summary[@]}"
echo "fuzz: ${#targets[@]} targets, $total_runs inputs, $crashes crashes" \
  "(build $((built - start)) s, run $(($(date +%s) - built)) s)"
[ "$crashes" -eq 0 ]
