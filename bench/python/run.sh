#!/usr/bin/env bash
# Python reading through `alluvium://` (fsspec, the alluvium package) against Python reading the
# same files from tmpfs, in alternated rounds of one process (issue 16):
#   large   a cached 1 GiB file: fs.cat_file (and fs.open().read()) vs open().read(). >= 0.7x.
#   small   10,000 x 4 KiB cached files, each read whole: fs.cat_file vs open/read/close. >= 0.5x.
#   ranges  1,000 random 64 KiB ranges of the 1 GiB file: one fs.cat_ranges vs os.pread each.
#           >= 0.5x.
# The cluster (3 workers on this host: short-circuit reads) and its UFS are under
# $ALLUVIUM_BENCH_DIR (default /dev/shm); the data is loaded first and checked byte for byte.
# Prints seconds and the ratio (tmpfs time / Alluvium time), best and median of the rounds.
#
# Environment: BENCH_QUICK=1 (256 MiB, 2,000 files, 3 rounds), BENCH_ROUNDS, BENCH_SEED,
# BENCH_BIG_MIB, BENCH_SMALL_COUNT, BENCH_RANGES; BENCH_KEEP=1 keeps the temp dir;
# ALLUVIUM_BIN (default build/src/cli/alluvium); ALLUVIUM_PYTHONPATH (default build/python: the
# package as built; empty to use the installed one).
set -euo pipefail
export ALLUVIUM_BENCH_DIR=${ALLUVIUM_BENCH_DIR:-/dev/shm}
source "$(dirname "$0")/../load/lib.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  big_mib=${BENCH_BIG_MIB:-256} small_count=${BENCH_SMALL_COUNT:-2000} rounds=${BENCH_ROUNDS:-3}
else
  big_mib=${BENCH_BIG_MIB:-1024} small_count=${BENCH_SMALL_COUNT:-10000} rounds=${BENCH_ROUNDS:-5}
fi
ranges=${BENCH_RANGES:-1000}
seed=${BENCH_SEED:-17}
pythonpath=${ALLUVIUM_PYTHONPATH-$bench_repo/build/python}

bench_wait_binary
bench_setup python
ufs=$bench_base/ufs
mkdir -p "$ufs/big" "$ufs/small"
bench_random_file "$ufs/big/big.bin" $((big_mib << 20)) "python-$$"
bench_small_files "$ufs/small" "$small_count" 4 10
bench_write_conf "$ufs"
bench_log "== starting a 3-worker cluster (UFS and page stores under $bench_base)"
bench_fresh_cluster 3
bench_load_dirs /big /small

res=$bench_base/results
bench_log "== $rounds rounds (load average $(bench_loadavg))"
PYTHONPATH=$pythonpath /usr/bin/python3 "$(dirname "$0")/bench.py" "$bench_conf" "$ufs" \
  "$rounds" "$ranges" "$seed" > "$res"

stat() {  # stat CASE SIDE: "best median" seconds
  awk -v c="$1" -v s="$2" '$1 == c && $2 == s { print $4 }' "$res" | bench_min_median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
echo
echo "bench/python: fsspec alluvium:// vs Python on tmpfs, $rounds rounds, $(nproc) cores, load average $(bench_loadavg)"
printf '%-58s %22s %22s %13s  %s\n' case "tmpfs s (best/median)" "Alluvium s" "ratio" target
row() {  # row LABEL CASE SIDE TARGET
  read -r tb tm < <(stat "$2" tmpfs)
  read -r ab am < <(stat "$2" "$3")
  local best median verdict
  best=$(ratio "$tb" "$ab") median=$(ratio "$tm" "$am")
  verdict=$(awk -v r="${best%x}" -v t="$4" 'BEGIN { print (r >= t) ? "met" : "MISSED" }')
  printf '%-58s %10.3f / %9.3f %10.3f / %9.3f %6s/%6s  >= %sx %s\n' "$1" "$tb" "$tm" "$ab" "$am" \
    "$best" "$median" "$4" "$verdict"
}
row "cached ${big_mib} MiB file, fs.cat_file vs open().read()" large alluvium 0.7
row "the same, fs.open().read()" large alluvium_open 0.7
row "$small_count x 4 KiB files, fs.cat_file each vs open/read/close" small alluvium 0.5
row "$ranges random 64 KiB ranges, one fs.cat_ranges vs os.pread" ranges alluvium 0.5
echo "(ratio: tmpfs seconds / Alluvium seconds, best/best and median/median)"
