#!/usr/bin/env bash
# Metadata-only distributed load of a directory of 1,000,000 empty files:
#   alluvium job load <dir> --partial-listing --metadata-only --wait
# with the coordinator's memory watched: VmRSS sampled every 0.5 s while the job runs (with the
# job's progress beside it) and VmHWM (peak RSS) read at the end.
#
# The files live on tmpfs (/dev/shm) by default: creating 1M files there takes seconds, on this
# VM's ext4 it takes minutes (and deleting them slows every later file creation on that disk for
# a minute: ext4 without a journal skips recently deleted inodes). The cluster's state (worker
# metadata stores) is in the same dir. Set ALLUVIUM_BENCH_DIR=/tmp to measure on the disk.
#
# Environment:
#   BENCH_QUICK=1            100,000 files (default 1,000,000); BENCH_FILES=N for any count
#   BENCH_FILES_PER_DIR=N    spread the files over subdirectories of N (default: all in one dir)
#   BENCH_TIMEOUT=600        seconds the job may run; then it is stopped and the partial rate
#                            is reported
#   ALLUVIUM_BENCH_DIR       parent of the temp dir (default /dev/shm, else /tmp); BENCH_KEEP=1
#   ALLUVIUM_BIN             the alluvium binary
set -euo pipefail
source "$(dirname "$0")/../load/lib.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then files=${BENCH_FILES:-100000}; else files=${BENCH_FILES:-1000000}; fi
per_dir=${BENCH_FILES_PER_DIR:-$files}
job_timeout=${BENCH_TIMEOUT:-600}
target_mib=200
if [ -z "${ALLUVIUM_BENCH_DIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export ALLUVIUM_BENCH_DIR=/dev/shm
fi

bench_wait_binary
bench_setup load-metadata
ufs=$bench_base/ufs
dir=$ufs/meta
mkdir -p "$dir"
fs_type=$(stat -f -c %T "$bench_base")

# ---------------------------------------------------------------- dataset
# mknod(2) makes an empty regular file in one syscall (open+close is two, and slower on ext4).
# Subdirectories are filled by 2 processes (one per core); one flat directory by one (creates in
# a directory serialise on its lock anyway).
gen_start=$(bench_now_ns)
python3 - "$dir" "$files" "$per_dir" <<'PY'
import os, sys
from multiprocessing import Pool
root, files, per_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
dirs = (files + per_dir - 1) // per_dir

def fill(d):
    base = root if dirs == 1 else os.path.join(root, f"d{d:05d}")
    if dirs > 1:
        os.makedirs(base, exist_ok=True)
    mknod = os.mknod
    first, last = d * per_dir, min(files, (d + 1) * per_dir)
    os.chdir(base)
    for i in range(first, last):
        mknod(f"f{i:07d}")
    return last - first

if dirs == 1:
    made = fill(0)
else:
    with Pool(2) as pool:
        made = sum(pool.map(fill, range(dirs), chunksize=max(1, dirs // 16)))
assert made == files, (made, files)
PY
gen_secs=$(bench_secs "$gen_start" "$(bench_now_ns)")
layout=$([ "$per_dir" -ge "$files" ] && echo "one directory" || echo "$(( (files + per_dir - 1) / per_dir )) directories of $per_dir")
bench_log "created $files empty files ($layout) on $fs_type in $gen_secs s"

# Baseline for scale: walking the same tree with readdir + stat (what listing must do at least).
find_start=$(bench_now_ns)
found=$(find "$dir" -type f -printf '%s\n' | wc -l)
find_secs=$(bench_secs "$find_start" "$(bench_now_ns)")
[ "$found" = "$files" ] || bench_die "find saw $found files, expected $files"

# ---------------------------------------------------------------- cluster and job
bench_write_conf "$ufs"
bench_fresh_cluster 3
coord_pid=$(cat "$bench_run/pids/coordinator.pid")
vm() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }  # kB
rss_start_kb=$(vm "$coord_pid" VmRSS)

samples=$bench_base/samples   # t_ms rss_kb processed
: > "$samples"
sampler() {
  local t0=$1 n=0 p
  while bench_alive "$coord_pid"; do
    p=""
    # Progress every 4th sample (2 s): cheap, and enough to see the rate change.
    if [ $((n % 4)) = 0 ]; then
      p=$("$bench_bin" --config "$bench_conf" job load /meta --progress --format JSON 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("mProcessedFileCount", ""))' 2>/dev/null || true)
    fi
    echo "$(( ($(bench_now_ns) - t0) / 1000000 )) $(vm "$coord_pid" VmRSS) ${p:--}" >> "$samples"
    n=$((n + 1))
    sleep 0.5
  done
}

sync
cpu0=$(bench_cpu_ticks "$coord_pid")
t0=$(bench_now_ns)
sampler "$t0" &
bench_bg_pids+=($!)
rc=0
timeout "$job_timeout" "$bench_bin" --config "$bench_conf" job load /meta --partial-listing --metadata-only --wait \
  > "$bench_base/job.out" 2>&1 || rc=$?
t1=$(bench_now_ns)
hwm_kb=$(vm "$coord_pid" VmHWM)
rss_end_kb=$(vm "$coord_pid" VmRSS)
cpu1=$(bench_cpu_ticks "$coord_pid")
kill "${bench_bg_pids[@]}" 2>/dev/null || true
wait "${bench_bg_pids[@]}" 2>/dev/null || true
bench_bg_pids=()
echo "$(( (t1 - t0) / 1000000 )) $rss_end_kb -" >> "$samples"
timed_out=0
if [ "$rc" = 124 ]; then
  timed_out=1
  bench_log "the job ran past BENCH_TIMEOUT=$job_timeout s; stopping it"
  alluvium job load /meta --stop >/dev/null 2>&1 || true
  sleep 1
elif [ "$rc" != 0 ]; then
  cat "$bench_base/job.out" >&2
  bench_die "job load exited $rc"
fi
bench_progress_json /meta > "$bench_base/job.json" 2>&1 || true
state=$(bench_json "$bench_base/job.json" mJobState)
elapsed_ms=$(bench_json "$bench_base/job.json" mTimeElapsed)
done_files=$(bench_json "$bench_base/job.json" mProcessedFileCount)
failed=$(bench_json "$bench_base/job.json" mFailedFileCount)
wall=$(bench_secs "$t0" "$t1")
workers_hwm=$(while read -r name pid; do
  [ "$name" = coordinator ] || printf '%s %d MiB, ' "$name" $(( $(vm "$pid" VmHWM) / 1024 ))
done < <(bench_pids))
metrics=$(alluvium cluster metrics --filter alluvium_worker_load_items_total 2>/dev/null | awk '{ s += $3 } END { print s + 0 }')

# ---------------------------------------------------------------- report
echo
if [ "$timed_out" = 1 ] || [ "$state" != SUCCEEDED ]; then
  echo "note: the job did not succeed (state $state, exit $rc$([ "$timed_out" = 1 ] && echo ", timed out after $job_timeout s")): figures are for the part done"
fi
awk -v n="$files" -v done="$done_files" -v ms="$elapsed_ms" -v hwm="$hwm_kb" -v target="$target_mib" -v to="$timed_out" '
  BEGIN {
    s = ms / 1000; r = s > 0 ? done / s : 0
    rate = (r >= 1000) ? sprintf("%.1fk files/s", r / 1000) : sprintf("%.0f files/s", r)
    what = (done == n) ? sprintf("%d entries", n) : sprintf("%d entries (%d of them done)", n, done)
    printf "metadata load %s (partialListing, loadMetadataOnly): %.0f s, %s, coordinator peak RSS %.0f MiB (target < %d MiB: %s)\n",
      what, s, rate, hwm / 1024, target, ((hwm / 1024 < target) ? "met" : "MISSED")
  }'
echo "    $files empty files in $layout on $fs_type (created in $gen_secs s; find with stat walks them in $find_secs s)"
echo "    job: state $state, $done_files processed, $failed failed, job elapsed $(awk -v m="$elapsed_ms" 'BEGIN { printf "%.1f", m / 1000 }') s, wall clock around the CLI $wall s; workers recorded $metrics load items"
awk -v a="$rss_start_kb" -v e="$rss_end_kb" -v h="$hwm_kb" -v c0="$cpu0" -v c1="$cpu1" -v w="$wall" 'BEGIN {
  printf "    coordinator: RSS %.0f MiB before the job, %.0f MiB at the end, peak %.0f MiB; CPU %.1f s over %.0f s (%.0f%% of a core)\n",
    a / 1024, e / 1024, h / 1024, (c1 - c0) / 100, w, (w > 0 ? (c1 - c0) / w : 0) }'
echo "    workers' peak RSS: ${workers_hwm%, }"
# RSS timeline: ~10 points, with the progress sample nearest before each.
awk 'BEGIN { printf "    RSS over time (s: MiB, files done):" }
  { t[NR] = $1; r[NR] = $2; if ($3 != "-") { p = $3 } ; pr[NR] = p; if ($2 > max) { max = $2; at = $1 } }
  END {
    step = NR > 10 ? int(NR / 10) : 1
    for (i = 1; i <= NR; i += step) printf " %.0f: %.0f, %s;", t[i] / 1000, r[i] / 1024, (pr[i] == "" ? "-" : pr[i])
    printf " end %.0f: %.0f\n", t[NR] / 1000, r[NR] / 1024
    printf "    highest sampled RSS %.0f MiB at %.0f s\n", max / 1024, at / 1000
  }' "$samples"
