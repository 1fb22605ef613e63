#!/usr/bin/env bash
# Distributed load against a plain copy on the same file system: issue 13's load targets.
#
# Generates a dataset (big files and many small files) in a temp dir on tmpfs (/dev/shm, so the
# software's own costs show, not a disk's), starts a local 3-worker cluster whose UFS root is
# that dir and whose page stores are beside it, and for each set alternates rounds of
#   (a) a plain copy of the same files on the same file system: `cp -r`, the baseline the targets
#       are set against; for big files also `xargs -P 4 cp`, whose ratio is printed beside, and
#   (b) `alluvium job load <set> --wait` into an empty cache (fresh cluster per round; the
#       restart and wipe are not timed),
# after a warm-up of each. Prints the best round of each with the median beside it (noise on this
# VM only ever adds time: see the machine notes on baselines), the ratio (copy time /
# load time, best and median) and the target:
#   big    8 x 128 MiB, MB/s >= 0.9x `cp -r`
#   small  10,000 x 4 KiB, files/s >= 1.0x `cp -r` (the issue aims for 2x)
# The load is timed by the job's own elapsed time (mTimeElapsed: submit to end, on the
# coordinator). The wall clock around the CLI is printed too: it adds the CLI's start and the
# submit call; `--wait` follows the job with long polls (REST `waitMs`), so it returns as soon
# as the job ends.
#
# Environment:
#   BENCH_QUICK=1          4 x 64 MiB and 2,000 x 4 KiB, 3 rounds (default 8 x 128 MiB and
#                          10,000 x 4 KiB, 5 rounds)
#   BENCH_BIG_COUNT, BENCH_BIG_MIB, BENCH_SMALL_COUNT, BENCH_SMALL_KIB, BENCH_SMALL_DIRS
#   BENCH_ROUNDS           timed rounds per set (after one warm-up)
#   BENCH_SETS="big small" which sets to run
#   ALLUVIUM_BENCH_DIR     parent of the temp dir (default /dev/shm); BENCH_KEEP=1 keeps it
#   ALLUVIUM_BIN           the alluvium binary (default build/src/cli/alluvium)
set -euo pipefail
export ALLUVIUM_BENCH_DIR=${ALLUVIUM_BENCH_DIR:-/dev/shm}
source "$(dirname "$0")/lib.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  big_count=${BENCH_BIG_COUNT:-4} big_mib=${BENCH_BIG_MIB:-64}
  small_count=${BENCH_SMALL_COUNT:-2000} rounds=${BENCH_ROUNDS:-3}
else
  big_count=${BENCH_BIG_COUNT:-8} big_mib=${BENCH_BIG_MIB:-128}
  small_count=${BENCH_SMALL_COUNT:-10000} rounds=${BENCH_ROUNDS:-5}
fi
small_kib=${BENCH_SMALL_KIB:-4}
small_dirs=${BENCH_SMALL_DIRS:-10}
sets=${BENCH_SETS:-big small}
workers=3
load_timeout=${BENCH_LOAD_TIMEOUT:-900}

bench_wait_binary
bench_setup load
ufs=$bench_base/ufs
res=$bench_base/results   # lines: set variant round seconds [extra...]
: > "$res"
need_kib=$(( (big_count * big_mib * 1024 + small_count * small_kib * 2) * 3 ))
avail_kib=$(df -Pk "$bench_base" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -gt "$need_kib" ] ||
  bench_die "need ~$((need_kib / 1024)) MiB free under $bench_base, have $((avail_kib / 1024)) MiB"

# ---------------------------------------------------------------- dataset
gen_start=$(bench_now_ns)
mkdir -p "$ufs/big" "$ufs/small"
gen_big() {
  bench_random_file "$(printf '%s/big/part-%03d.bin' "$ufs" "$1")" $((big_mib << 20)) "$1-$$"
}
if [[ " $sets " == *" big "* ]]; then
  for i in $(seq 0 $((big_count - 1))); do gen_big "$i" & done
  wait
fi
if [[ " $sets " == *" small "* ]]; then
  bench_small_files "$ufs/small" "$small_count" "$small_kib" "$small_dirs"
fi
sync
bench_log "dataset in $ufs ($(du -sh "$ufs" | cut -f1)) generated in $(bench_secs "$gen_start" "$(bench_now_ns)") s"

bench_write_conf "$ufs"
copies=$bench_base/copies
mkdir -p "$copies"

# ---------------------------------------------------------------- measurements
# Each prints nothing; appends "set variant round seconds cpu_seconds" to $res.
time_copy() {  # set variant round
  local set=$1 variant=$2 round=$3 dst=$copies/$1 t
  sync
  local TIMEFORMAT='%R %U %S'
  case $variant in
    cp) t=$( { time cp -r "$ufs/$set" "$dst"; } 2>&1 | tail -n 1) ;;
    xargs) t=$( { time { mkdir "$dst" && (cd "$ufs/$set" && ls | xargs -P 4 -I{} cp {} "$dst/{}"); }; } 2>&1 | tail -n 1) ;;
  esac
  read -r real user sys <<< "$t"
  [[ "$real" =~ ^[0-9.]+$ ]] || bench_die "$variant of $set failed: $t"
  echo "$set $variant $round $real $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" >> "$res"
  if [ "$set" = big ]; then rm -rf "$dst"; else bench_trash "$dst"; fi  # see bench_trash
}

proc_list() { bench_pids | sort; }  # "name pid", coordinator first
snapshot() {  # name pid cpu_ticks rchar wchar, per cluster process
  local name pid
  while read -r name pid; do
    echo "$name $pid $(bench_cpu_ticks "$pid") $(awk '/^rchar/ { r = $2 } /^wchar/ { w = $2 } END { print r + 0, w + 0 }' "/proc/$pid/io" 2>/dev/null || echo "0 0")"
  done < <(proc_list)
}

time_load() {  # set round expected_files expected_bytes
  local set=$1 round=$2 files=$3 bytes=$4 out=$bench_base/load-$1-$2
  bench_fresh_cluster "$workers"
  sync
  snapshot > "$out.before"
  local t0 t1 rc=0
  t0=$(bench_now_ns)
  timeout "$load_timeout" "$bench_bin" --config "$bench_conf" job load "/$set" --wait > "$out.text" 2>&1 || rc=$?
  t1=$(bench_now_ns)
  snapshot > "$out.after"
  bench_progress_json "/$set" > "$out.json" 2>&1 || true
  alluvium cluster metrics > "$out.metrics" 2>&1 || true
  if [ "$rc" != 0 ]; then
    cat "$out.text" >&2
    [ "$rc" = 124 ] && alluvium job load "/$set" --stop >/dev/null 2>&1
    bench_die "job load /$set exited $rc (round $round)"
  fi
  local state elapsed_ms loaded processed failed
  state=$(bench_json "$out.json" mJobState)
  elapsed_ms=$(bench_json "$out.json" mTimeElapsed)
  loaded=$(bench_json "$out.json" mLoadedByteCount)
  processed=$(bench_json "$out.json" mProcessedFileCount)
  failed=$(bench_json "$out.json" mFailedFileCount)
  if [ "$state" != SUCCEEDED ] || [ "$processed" != "$files" ] || [ "$loaded" != "$bytes" ] || [ "$failed" != 0 ]; then
    cat "$out.text" "$out.json" >&2
    bench_die "load of /$set: state $state, $processed of $files files, $loaded of $bytes bytes, $failed failed"
  fi
  # When pages landed (the mtimes of the region files written to) relative to the job's start,
  # on the coordinator's clock: the first region's first write is not recorded, so "first" is
  # when the earliest region was last written.
  local start_ms
  start_ms=$(bench_json "$out.json" mStartTime)
  { find "$bench_run"/worker-*/pages/regions -type f -size +0 -printf '%T@\n' 2>/dev/null || true; } | sort -g |
    awk -v s="$start_ms" 'NR == 1 { f = $1 } { l = $1 } END { if (NR) printf "%.3f %.3f\n", f - s / 1000, l - s / 1000 }' > "$out.pages"
  local cpu
  cpu=$(join "$out.before" "$out.after" | awk '{ t += $7 - $3 } END { printf "%.2f", t / 100 }')
  echo "$set alluvium $round $(awk -v m="$elapsed_ms" 'BEGIN { printf "%.3f", m / 1000 }') $cpu" >> "$res"
  echo "$set wall $round $(bench_secs "$t0" "$t1") 0" >> "$res"
}

# Per-process breakdown of one load round: CPU seconds, UFS bytes read and bytes written
# (rchar/wchar), load bytes and items per worker from the worker metrics.
where_time_went() {  # set round
  local out=$bench_base/load-$1-$2
  local secs
  secs=$(awk -v s="$1" -v r="$2" '$1 == s && $2 == "alluvium" && $3 == r { print $4 }' "$res")
  if [ -s "$out.pages" ]; then
    read -r first last < "$out.pages"
    awk -v f="$first" -v l="$last" -v j="$secs" 'BEGIN {
      printf "    timeline from submit: first page cached at %.2f s, last page at %.2f s, job ended at %.2f s (%.2f s after the last page)\n", f, l, j, j - l }'
  fi
  join "$out.before" "$out.after" | awk -v secs="$secs" -v mf="$out.metrics" '
    BEGIN {
      # worker metrics lines: "<worker-id> <metric> <value>"; worker ids map to workers in the
      # order the coordinator lists them, not to worker-N names, so they are summarised apart.
      while ((getline line < mf) > 0) {
        split(line, f, " ")
        if (f[2] == "alluvium_worker_load_bytes_total") { lb[f[1]] = f[3]; ids[f[1]] = 1 }
        if (f[2] == "alluvium_worker_load_items_total") li[f[1]] = f[3]
        if (f[2] == "alluvium_worker_page_store_puts_total") pp[f[1]] = f[3]
      }
    }
    {
      cpu = ($7 - $3) / 100; rd = ($8 - $4) / 1e6; wr = ($9 - $5) / 1e6; total += cpu
      parts = parts sprintf("%s%s %.2f s CPU, read %.0f MB, wrote %.0f MB", n++ ? "; " : "", $1, cpu, rd, wr)
    }
    END {
      printf "    CPU over the job: %.2f core-s in %.2f s = %.2f of 2 cores busy\n", total, secs, (secs > 0 ? total / secs : 0)
      printf "    per process: %s\n", parts
      k = 0; max = 0; sum = 0; s = ""
      for (id in ids) { k++; sum += lb[id]; if (lb[id] > max) max = lb[id]
        s = s sprintf("%s%.0f MB/%d items/%d pages", k > 1 ? ", " : "", lb[id] / 1e6, li[id], pp[id]) }
      if (k > 0) printf "    per worker (load bytes/items/page puts): %s; busiest worker has %.2fx the mean\n", s, (sum > 0 ? max / (sum / k) : 0)
    }'
}

# ---------------------------------------------------------------- rounds
run_set() {  # set label files bytes copy_variants...
  local set=$1 label=$2 files=$3 bytes=$4
  shift 4
  local variants=("$@") v r
  echo "$set loadavg 0 $(bench_loadavg) 0" >> "$res"
  bench_log "== $label: warm-up (load average $(bench_loadavg))"
  for v in "${variants[@]}"; do time_copy "$set" "$v" 0; done
  time_load "$set" 0 "$files" "$bytes"
  for r in $(seq 1 "$rounds"); do
    bench_log "== $label: round $r of $rounds"
    if [ $((r % 2)) = 1 ]; then
      for v in "${variants[@]}"; do time_copy "$set" "$v" "$r"; done
      time_load "$set" "$r" "$files" "$bytes"
    else
      time_load "$set" "$r" "$files" "$bytes"
      for ((i = ${#variants[@]} - 1; i >= 0; i--)); do time_copy "$set" "${variants[i]}" "$r"; done
    fi
  done
  bench_stop_cluster
  echo "$set loadavg 99 $(bench_loadavg) 0" >> "$res"
}

stat_of() {  # set variant -> "min median" over the timed rounds
  awk -v s="$1" -v v="$2" '$1 == s && $2 == v && $3 > 0 { print $4 }' "$res" | bench_min_median
}
best_round() {  # set variant -> round with the minimum time
  awk -v s="$1" -v v="$2" '$1 == s && $2 == v && $3 > 0 { print $4, $3 }' "$res" | sort -g | head -n 1 | cut -d' ' -f2
}
cpu_of_round() {  # set variant round
  awk -v s="$1" -v v="$2" -v r="$3" '$1 == s && $2 == v && $3 == r { print $5 }' "$res"
}

# The first variant (`cp -r`) is the baseline the target is set against; the others are shown
# beside it with Alluvium's ratio to each.
report() {  # set label kind(bytes|files) amount target aim variants...
  local set=$1 label=$2 kind=$3 amount=$4 target=$5 aim=$6
  shift 6
  local base_v=$1 base_min base_med a_min a_med w_min w_med name="cp -r"
  read -r base_min base_med < <(stat_of "$set" "$base_v")
  read -r a_min a_med < <(stat_of "$set" alluvium)
  read -r w_min w_med < <(stat_of "$set" wall)
  awk -v label="$label" -v rounds="$rounds" -v kind="$kind" -v amount="$amount" -v target="$target" \
      -v aim="$aim" -v name="$name" -v bmin="$base_min" -v bmed="$base_med" -v amin="$a_min" -v amed="$a_med" '
    function rate(t) {
      if (kind == "bytes") return sprintf("%.2f GB/s", amount / t / 1e9)
      r = amount / t
      if (r >= 1000) return sprintf("%.1fk files/s", r / 1000)
      return sprintf("%.0f files/s", r)
    }
    BEGIN {
      ratio = bmin / amin
      verdict = sprintf("target >= %.1fx: %s", target, ratio >= target ? "met" : "MISSED")
      if (aim != "") verdict = verdict sprintf("; aim %.1fx: %s", aim, ratio >= aim ? "met" : "not yet")
      printf "load %s, local UFS on tmpfs, %d rounds: %s best %.3f s (%s), median %.3f s | alluvium best %.3f s (%s), median %.3f s | %.2fx best, %.2fx median (%s)\n",
        label, rounds, name, bmin, rate(bmin), bmed, amin, rate(amin), amed, ratio, bmed / amed, verdict
    }'
  local v2 min med
  for v2 in "${@:2}"; do
    read -r min med < <(stat_of "$set" "$v2")
    awk -v n="${v2/xargs/xargs -P 4 cp}" -v min="$min" -v med="$med" -v amin="$a_min" \
      'BEGIN { printf "    also %s: best %.3f s, median %.3f s (alluvium %.2fx of it, best against best)\n", n, min, med, min / amin }'
  done
  local br cr
  br=$(best_round "$set" alluvium)
  cr=$(best_round "$set" "$base_v")
  printf '    alluvium wall clock around `job load --wait` (CLI start and submit included): best %s s, median %s s\n' \
    "$w_min" "$w_med"
  printf '    CPU (user+sys): %s %s core-s in its best round; alluvium (coordinator + workers) %s core-s in its best round\n' \
    "$name" "$(cpu_of_round "$set" "$base_v" "$cr")" "$(cpu_of_round "$set" alluvium "$br")"
  printf '    where the time went in the best alluvium round (%s):\n' "$br"
  where_time_went "$set" "$br"
  printf '    rounds (s):'
  awk -v s="$set" '$1 == s && $3 > 0 && $2 != "loadavg" { t[$2] = t[$2] " " $4 } END { for (v in t) printf "  %s:%s", v, t[v]; print "" }' "$res"
  awk -v s="$set" '$1 == s && $2 == "loadavg" { l[$3 == 0 ? 0 : 1] = $4 }
    END { printf "    1-min load average %s before the set, %s after (2 cores)%s\n", l[0], l[1],
            ((l[0] > 1.5 || l[1] > 2.5) ? ": other work was running, figures are noisy" : "") }' "$res"
}

for set in $sets; do
  case $set in
    big)
      run_set big "$big_count x $big_mib MiB" "$big_count" $((big_count * (big_mib << 20))) cp xargs ;;
    small)
      run_set small "$small_count x $small_kib KiB" "$small_count" $((small_count * small_kib * 1024)) cp ;;
    *) bench_die "unknown set $set" ;;
  esac
done

echo
for set in $sets; do
  case $set in
    big) report big "$big_count x $big_mib MiB" bytes $((big_count * (big_mib << 20))) 0.9 "" cp xargs ;;
    small) report small "$small_count x $small_kib KiB" files "$small_count" 1.0 2.0 cp ;;
  esac
done
