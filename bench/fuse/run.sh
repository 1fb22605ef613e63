#!/usr/bin/env bash
# fio through `alluvium fuse mount` against fio on the same files in tmpfs (issue 15), with
# rclone's FUSE mount (`--vfs-cache-mode full`, warm) of the same data timed in the same run.
#
# Writes a dataset (one 1 GiB file and 10,000 x 4 KiB files in 10 directories) into a UFS
# directory on tmpfs, starts a local 3-worker cluster on it, loads it with `alluvium job load
# --wait`, mounts the cache with `alluvium fuse mount` (defaults: the immutable rule, kernel
# caching, 4 MiB kernel read-ahead, small files pushed after listings) and the UFS with
# `rclone mount --vfs-cache-mode full --read-only`, reads everything once through both (checked
# byte for byte against the UFS; rclone's cache is then warm), and alternates timed rounds of
# four fio cases on the three sides (tmpfs, Alluvium, rclone; the order rotates each round):
#   seq1   sequential read of the 1 GiB file, 1 MiB blocks, 1 job. Target >= 0.7x tmpfs.
#   seq4   the same file in 4 jobs, each reading its own quarter. Target >= 0.7x.
#   rand   random 4 KiB reads of the 1 GiB file (fixed seed, fio's POSIX_FADV_RANDOM). >= 0.5x.
#   small  what a data loader does with small files: list their 10 directories (timed in one
#          process, os.walk), then read every one of the 10,000 files once: open, read 4 KiB,
#          close (fio, keeping what the listing put in the page cache: invalidate=0). The
#          listing's time counts with fio's, on every side. Target >= 0.5x.
# All with ioengine=psync, each in two modes:
#   cold   the kernel's caches are dropped before the run (`echo 3 > /proc/sys/vm/drop_caches`
#          as root, which leaves tmpfs's data where it is; otherwise `alluvium fuse drop-caches`
#          and rclone's kernel caches stay: the report says which). Every read goes through the
#          mount's own read path, as in a first epoch, or any epoch over a dataset larger than
#          memory.
#   warm   right after the cold run, the same again with the kernel's caches kept: what a
#          re-read gets from the mount's defaults (Alluvium's immutable rule: kernel_cache and
#          long attribute timeouts; rclone's own defaults).
# The Alluvium cluster must serve every byte from its page stores (no UFS bytes read by workers
# during the rounds).
#
# Then times the floor under every cold case: stat(2) through a second mount with attribute
# caching off (one getattr request through /dev/fuse each) against stat on tmpfs.
#
# Prints per case and side the MB/s (best and median of the rounds; noise on this VM only ever
# slows a side down), Alluvium's ratio to tmpfs and to rclone, best and median, and the
# sequential MB/s beside Alluxio's published single-thread FUSE figure (2.1 GB/s on 100 Gbps
# hardware).
#
# Environment:
#   BENCH_QUICK=1          256 MiB, 2,000 small files, 10,000 random reads, 3 rounds
#   BENCH_ROUNDS=5         timed rounds (after the warm-up reads)
#   BENCH_CASES="seq1 seq4 rand small"
#   BENCH_MODES="cold warm"
#   BENCH_RCLONE=0         skip rclone
#   BENCH_FUSE_OPTIONS     extra `alluvium fuse mount` options, e.g. "-o direct_io"
#   BENCH_BIG_MIB, BENCH_SMALL_COUNT, BENCH_RANDOM_COUNT, BENCH_SEED
#   ALLUVIUM_BENCH_DIR     parent of the temp dir: UFS, caches, mounts (default /dev/shm);
#                          BENCH_KEEP=1 keeps it
#   ALLUVIUM_BIN           the alluvium binary (default build/src/cli/alluvium)
set -euo pipefail
export ALLUVIUM_BENCH_DIR=${ALLUVIUM_BENCH_DIR:-/dev/shm}
source "$(dirname "$0")/../load/lib.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  big_mib=${BENCH_BIG_MIB:-256} small_count=${BENCH_SMALL_COUNT:-2000}
  random_count=${BENCH_RANDOM_COUNT:-10000} rounds=${BENCH_ROUNDS:-3}
else
  big_mib=${BENCH_BIG_MIB:-1024} small_count=${BENCH_SMALL_COUNT:-10000}
  random_count=${BENCH_RANDOM_COUNT:-50000} rounds=${BENCH_ROUNDS:-5}
fi
seed=${BENCH_SEED:-15}
cases=${BENCH_CASES:-seq1 seq4 rand small}
modes=${BENCH_MODES:-cold warm}
big_bytes=$((big_mib << 20))
sides="tmpfs alluvium"
use_rclone=${BENCH_RCLONE:-1}

command -v fio > /dev/null || bench_die "fio is missing (scripts/install-deps.sh installs it)"
if [ "$use_rclone" = 1 ]; then
  command -v rclone > /dev/null || bench_die "rclone is missing (install it, or BENCH_RCLONE=0)"
  sides="$sides rclone"
fi
(exec 3<> /dev/fuse) 2> /dev/null || bench_die "/dev/fuse cannot be opened: no FUSE mount here"
bench_wait_binary
bench_setup fuse
ufs=$bench_base/ufs
res=$bench_base/results  # lines: case/mode side round bytes seconds
: > "$res"
need_kib=$(((big_bytes / 1024 + small_count * 4 * 2) * 4))  # UFS, page stores, rclone's cache
avail_kib=$(df -Pk "$bench_base" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -gt "$need_kib" ] ||
  bench_die "need ~$((need_kib / 1024)) MiB free under $bench_base, have $((avail_kib / 1024)) MiB"

# ---------------------------------------------------------------- dataset, cluster, load, mounts
gen_start=$(bench_now_ns)
mkdir -p "$ufs/seq" "$ufs/small"
bench_random_file "$ufs/seq/big.bin" "$big_bytes" "fuse-$$"
bench_small_files "$ufs/small" "$small_count" 4 10
bench_log "dataset in $ufs ($(du -sh "$ufs" | cut -f1)) generated in $(bench_secs "$gen_start" "$(bench_now_ns)") s"

bench_write_conf "$ufs"
bench_log "== starting a 3-worker cluster (UFS and page stores under $bench_base)"
bench_fresh_cluster 3
bench_load_dirs /seq /small

mnt=$bench_base/mnt
mkdir -p "$mnt"
bench_at_exit "alluvium fuse unmount '$mnt' > /dev/null 2>&1"
# shellcheck disable=SC2086  # options are words
alluvium fuse mount "$mnt" ${BENCH_FUSE_OPTIONS:-} > "$bench_base/mount.out" 2>&1 ||
  { cat "$bench_base/mount.out" >&2; bench_die "alluvium fuse mount failed"; }
declare -A root=([tmpfs]=$ufs [alluvium]=$mnt)
if [ "$use_rclone" = 1 ]; then
  rmnt=$bench_base/rclone-mnt
  mkdir -p "$rmnt"
  bench_at_exit "fusermount3 -u -z '$rmnt' 2> /dev/null"
  rclone mount "$ufs" "$rmnt" --read-only --vfs-cache-mode full \
    --cache-dir "$bench_base/rclone-cache" --log-file "$bench_base/rclone.log" &
  bench_bg_pids+=($!)
  for _ in $(seq 1 100); do
    mountpoint -q "$rmnt" && break
    sleep 0.1
  done
  mountpoint -q "$rmnt" || bench_die "rclone mount did not come up (log: $bench_base/rclone.log)"
  root[rclone]=$rmnt
fi

ufs_read_bytes() {  # bytes the workers have read from the UFS for readers, summed
  alluvium cluster metrics --filter alluvium_worker_read_ufs_bytes_total |
    awk '$1 == "alluvium_worker_read_ufs_bytes_total" { s += $2 } END { printf "%d", s }'
}

# Warm-up, untimed: every byte through each mount compared with the UFS (and rclone's cache
# filled with the whole dataset).
warm_start=$(bench_now_ns)
for side in $sides; do
  [ "$side" = tmpfs ] && continue
  cmp "$ufs/seq/big.bin" "${root[$side]}/seq/big.bin" || bench_die "$side: seq/big.bin differs"
  diff -r -q "$ufs/small" "${root[$side]}/small" > /dev/null || bench_die "$side: small/ differs"
done
bench_log "warm-up: every file read through the mounts equals the UFS ($(bench_secs "$warm_start" "$(bench_now_ns)") s)"
ufs_bytes_before=$(ufs_read_bytes)

# ---------------------------------------------------------------- measurements
if [ -w /proc/sys/vm/drop_caches ]; then
  kernel_caches="dropped before each run on a mount (/proc/sys/vm/drop_caches)"
  cold_kernel() { sync; echo 3 > /proc/sys/vm/drop_caches; }
else
  kernel_caches="Alluvium's dropped before each run (fuse drop-caches); rclone's kept (not root)"
  cold_kernel() { [ "$1" != alluvium ] || alluvium fuse drop-caches "$mnt" > /dev/null; }
fi

run_fio() {  # case side round mode: appends "case/mode side round bytes seconds" to $res
  local c=$1 side=$2 r=$3 mode=$4 dir=${root[$2]} args out=$bench_base/fio.json
  case $c in
    seq1) args=(--filename="$dir/seq/big.bin" --rw=read --bs=1M --size="$big_bytes") ;;
    seq4) args=(--filename="$dir/seq/big.bin" --rw=read --bs=1M --numjobs=4
                --size=$((big_bytes / 4)) --offset_increment=$((big_bytes / 4))) ;;
    rand) args=(--filename="$dir/seq/big.bin" --rw=randread --bs=4k --size="$big_bytes"
                --number_ios="$random_count" --randseed="$seed" --norandommap) ;;
    small) args=(--opendir="$dir/small" --rw=read --bs=4k --openfiles=1
                 --file_service_type=sequential) ;;
    *) bench_die "unknown case $c" ;;
  esac
  [ "$side" = tmpfs ] || [ "$mode" != cold ] || cold_kernel "$side"
  # fio drops the file's cached pages before a job unless told not to (invalidate=1).
  if [ "$mode" = warm ] || [ "$c" = small ]; then args+=(--invalidate=0); fi
  local listing_s=0
  if [ "$c" = small ]; then
    listing_s=$(python3 -c 'import os, sys, time
start = time.perf_counter()
files = sum(len(names) for _, _, names in os.walk(sys.argv[1]))
print(f"{time.perf_counter() - start:.6f}")' "$dir/small") || bench_die "listing $dir/small failed"
  fi
  fio --name="$c" --ioengine=psync --group_reporting --output-format=json --output="$out" \
    "${args[@]}" > /dev/null 2>&1 || bench_die "fio $c on $side failed (output: $out)"
  if ! python3 - "$out" "$c/$mode $side $r" "$listing_s" >> "$res" 2> "$bench_base/fio-parse.err" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
# fio may put notes ("fio: opendir added N files") before the JSON.
job = json.loads(text[text.index("{"):])["jobs"][0]
if job["error"]:
    sys.exit(f"fio reported error {job['error']}")
read = job["read"]
print(sys.argv[2], read["io_bytes"], read["runtime"] / 1000 + float(sys.argv[3]))
PY
  then
    bench_die "cannot read fio's results for $c on $side: $(tail -1 "$bench_base/fio-parse.err"); $(head -c 600 "$out")"
  fi
}

echo "loadavg 0 $(bench_loadavg)" > "$bench_base/loadavg"
read -ra order <<< "$sides"
for r in $(seq 1 "$rounds"); do
  bench_log "== round $r of $rounds (load average $(bench_loadavg))"
  for c in $cases; do
    for ((i = 0; i < ${#order[@]}; i++)); do
      for mode in $modes; do
        run_fio "$c" "${order[(i + r) % ${#order[@]}]}" "$r" "$mode"
      done
    done
  done
done
echo "loadavg 99 $(bench_loadavg)" >> "$bench_base/loadavg"

# The floor under every cold case: one request through /dev/fuse and back. A second mount with
# attribute caching off makes each stat(2) one getattr the daemon answers from memory.
floor_mnt=$bench_base/mnt-no-attr-cache
mkdir -p "$floor_mnt"
bench_at_exit "alluvium fuse unmount '$floor_mnt' > /dev/null 2>&1"
alluvium fuse mount "$floor_mnt" -o attr_timeout=0 > "$bench_base/mount-floor.out" 2>&1 ||
  { cat "$bench_base/mount-floor.out" >&2; bench_die "alluvium fuse mount (attr_timeout=0) failed"; }
roundtrip=$(python3 - "$floor_mnt/seq/big.bin" "$ufs/seq/big.bin" <<'PY'
import os, sys, time

def microseconds_per_stat(path, count=20000):
    os.stat(path)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(count):
            os.stat(path)
        best = min(best, time.perf_counter() - start)
    return best / count * 1e6

print(" ".join(f"{microseconds_per_stat(path):.1f}" for path in sys.argv[1:]))
PY
)
alluvium fuse unmount "$floor_mnt" > /dev/null 2>&1 || true
ufs_bytes_after=$(ufs_read_bytes)
[ "$ufs_bytes_after" = "$ufs_bytes_before" ] ||
  bench_die "the workers read $((ufs_bytes_after - ufs_bytes_before)) bytes from the UFS during the rounds: not all cached"
# The bytes fio moved must be what each case asks for, on every side.
awk -v big="$big_bytes" -v small=$((small_count * 4096)) -v random=$((random_count * 4096)) '
  { c = $1; sub("/.*", "", c)
    want = (c == "small") ? small : (c == "rand") ? random : big
    if ($4 != want) { printf "%s on %s moved %d bytes, expected %d\n", $1, $2, $4, want; bad = 1 } }
  END { exit bad }' "$res" >&2 || bench_die "fio read short"

# ---------------------------------------------------------------- report
mbps() {  # case side -> "best median" MB/s over the rounds (the best is the largest)
  awk -v c="$1" -v s="$2" '$1 == c && $2 == s && $5 > 0 { print $4 / $5 / 1e6 }' "$res" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan nan"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f %.0f\n", v[NR], m }'
}
declare -A label=([seq1]="sequential 1 MiB reads, 1 job, ${big_mib} MiB file"
                  [seq4]="sequential 1 MiB reads, 4 jobs (a quarter each)"
                  [rand]="random 4 KiB reads, $random_count of them, 1 job"
                  [small]="$small_count x 4 KiB files: list, then open/read/close each")
declare -A target=([seq1]=0.7 [seq4]=0.7 [rand]=0.5 [small]=0.5)
loads=$(awk '{ print $3 }' "$bench_base/loadavg" | paste -sd/)
echo
echo "bench/fuse: fio (psync) on \`alluvium fuse mount\` vs tmpfs, $rounds rounds, $(nproc) cores, load average $loads"
echo "cold: kernel caches $kernel_caches; warm: the same read again, kernel caches kept"
printf '%-56s %17s %17s %17s %9s %9s %7s\n' case "tmpfs MB/s" "Alluvium MB/s" "rclone MB/s" \
  "vs tmpfs" "vs rclone" target
for c in $cases; do
for mode in $modes; do
  read -r t_best t_med < <(mbps "$c/$mode" tmpfs)
  read -r a_best a_med < <(mbps "$c/$mode" alluvium)
  r_best=- r_med=- vs_r=-
  if [ "$use_rclone" = 1 ]; then
    read -r r_best r_med < <(mbps "$c/$mode" rclone)
    vs_r=$(awk -v a="$a_best" -v b="$r_best" 'BEGIN { printf "%.1fx", a / b }')
  fi
  awk -v l="${label[$c]}, $mode" -v tb="$t_best" -v tm="$t_med" -v ab="$a_best" -v am="$a_med" \
      -v rb="$r_best" -v rm="$r_med" -v vr="$vs_r" -v goal="${target[$c]}" 'BEGIN {
    best = ab / tb; med = am / tm
    printf "%-56s %7s / %7s %7s / %7s %7s / %7s %4.2fx/%4.2fx %9s %5sx %s\n", l, tb, tm, ab, am, rb, rm,
      best, med, vr, goal, (best >= goal ? "met (best)" : "MISSED")
  }'
done
done
echo "(MB/s: best / median of the rounds; vs tmpfs: Alluvium / tmpfs, best/best and median/median)"
read -r fuse_us tmpfs_us <<< "$roundtrip"
echo "one request through /dev/fuse (stat with attr_timeout=0, best of 3 x 20,000): $fuse_us us; stat on tmpfs: $tmpfs_us us"
if [[ " $cases " == *" seq1 "* ]] && [[ " $modes " == *" cold "* ]]; then
  read -r a_best _ < <(mbps seq1/cold alluvium)
  awk -v a="$a_best" 'BEGIN { printf "Alluxio FUSE, published single-thread sequential read: 2100 MB/s (100 Gbps hardware); Alluvium here, cold: %d MB/s, %.2fx\n", a, a / 2100 }'
fi
