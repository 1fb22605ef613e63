#!/usr/bin/env bash
# Cached reads against the fastest plain read of the same bytes on this machine (issue 13).
#
# Writes a dataset (one 1 GiB file and 10,000 x 4 KiB files) into a UFS directory on tmpfs,
# starts a local 3-worker cluster on it with `alluvium cluster start`, loads it with
# `alluvium job load --wait`, then, after a warm-up round, alternates timed rounds of four cases
# (baseline first in odd rounds, Alluvium first in even ones):
#   seq     the 1 GiB file through the client library (build/bench/read/read_bench: one Read call;
#           on the same host it may use short-circuit reads) vs `cat FILE > /dev/null` of the UFS
#           file. Target >= 0.8x.
#   remote  the same read with short-circuit off vs raw TCP over 127.0.0.1 moving the same bytes
#           (build/bench/read/tcp_pair: read+send of 1 MiB buffers, the receiver discards).
#           Target >= 0.8x. Short-circuit is turned off with -D alluvium.user.short.circuit.enabled=false
#           when `alluvium conf defaults` lists that key; otherwise every read is remote already
#           and the output says so.
#   small   the 10,000 files through the client library, in one process (listed first, untimed)
#           vs open/read/close of the same files on tmpfs in the same program. Target >= 0.5x.
#   random  20,000 reads of 4 KiB at random 4 KiB-aligned offsets of the 1 GiB file (fixed seed)
#           through the client vs pread of the same offsets. No target; the ratio is reported.
# Prints best and median of each side (noise on this VM only ever adds time: see
# the machine notes on baselines) and ratio = baseline time / Alluvium time, best and median.
#
# Every timed read is checked: Alluvium's bytes must match the UFS file's (a sampled sum, 8 bytes
# at every 64 KiB, on the sequential reads; a full XXH3 in the warm-up round and on every small
# file and random read, compared with the baseline's), and the cluster must have served every
# byte from its page stores (none from the UFS).
#
# Environment:
#   BENCH_QUICK=1          256 MiB, 2,000 small files, 2,000 random reads, 3 rounds
#   BENCH_ROUNDS=5         timed rounds (after one warm-up)
#   BENCH_CASES="seq remote small random"
#   BENCH_REMOTE_FLAGS     extra client flags for the remote case, e.g.
#                          "-D alluvium.user.read.ahead.window=0" (shown in the report)
#   BENCH_BIG_MIB, BENCH_SMALL_COUNT, BENCH_SMALL_KIB, BENCH_RANDOM_COUNT, BENCH_SEED
#   ALLUVIUM_BENCH_DIR     parent of the temp dir: UFS, caches (default /dev/shm); BENCH_KEEP=1 keeps it
#   ALLUVIUM_BIN           the alluvium binary (default build/src/cli/alluvium)
#   READ_BENCH_BIN, TCP_PAIR_BIN   the bench programs (default build/bench/read/...)
set -euo pipefail
export ALLUVIUM_BENCH_DIR=${ALLUVIUM_BENCH_DIR:-/dev/shm}
source "$(dirname "$0")/../load/lib.sh"

read_bench=${READ_BENCH_BIN:-$bench_repo/build/bench/read/read_bench}
tcp_pair=${TCP_PAIR_BIN:-$bench_repo/build/bench/read/tcp_pair}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  big_mib=${BENCH_BIG_MIB:-256} small_count=${BENCH_SMALL_COUNT:-2000}
  random_count=${BENCH_RANDOM_COUNT:-2000} rounds=${BENCH_ROUNDS:-3}
else
  big_mib=${BENCH_BIG_MIB:-1024} small_count=${BENCH_SMALL_COUNT:-10000}
  random_count=${BENCH_RANDOM_COUNT:-20000} rounds=${BENCH_ROUNDS:-5}
fi
small_kib=${BENCH_SMALL_KIB:-4}
seed=${BENCH_SEED:-13}
cases=${BENCH_CASES:-seq remote small random}
big_bytes=$((big_mib << 20))
sc_key=alluvium.user.short.circuit.enabled

for prog in "$read_bench" "$tcp_pair"; do
  [ -x "$prog" ] || bench_die "$prog is missing; build it with: ninja -C $bench_repo/build read_bench tcp_pair"
done
bench_wait_binary
bench_setup read
ufs=$bench_base/ufs
res=$bench_base/results  # lines: case side round seconds
: > "$res"
need_kib=$(( (big_bytes / 1024 + small_count * small_kib * 2) * 3 ))
avail_kib=$(df -Pk "$bench_base" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -gt "$need_kib" ] ||
  bench_die "need ~$((need_kib / 1024)) MiB free under $bench_base, have $((avail_kib / 1024)) MiB"

# ---------------------------------------------------------------- dataset, cluster, load
gen_start=$(bench_now_ns)
big_path=/big/big.bin
big_file=$ufs$big_path
mkdir -p "$ufs/big" "$ufs/small"
bench_random_file "$big_file" "$big_bytes" "read-$$"
bench_small_files "$ufs/small" "$small_count" "$small_kib" 10
bench_log "dataset in $ufs ($(du -sh "$ufs" | cut -f1)) generated in $(bench_secs "$gen_start" "$(bench_now_ns)") s"

kv() {  # kv LINE KEY: the value of KEY=value in a read_bench / tcp_pair output line
  awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' <<< "$1"
}
expected=$("$read_bench" checksum "$big_file")
big_sampled=$(kv "$expected" sampled) big_full=$(kv "$expected" full)

bench_write_conf "$ufs"
# Not grep -q: it would stop reading early, and the CLI's SIGPIPE would fail the pipeline.
if alluvium conf defaults | grep -F "$sc_key" > /dev/null; then
  short_circuit=1
  seq_mode="same host, short-circuit on (the default)"
  remote_mode="short-circuit off ($sc_key=false)"
  remote_flags=(-D "$sc_key=false")
else
  short_circuit=0
  seq_mode="same host, gRPC path (no short-circuit in this build)"
  remote_mode="gRPC path (no short-circuit in this build: every read is remote)"
  remote_flags=()
fi
bench_log "== starting a 3-worker cluster (UFS and page stores under $bench_base)"
bench_fresh_cluster 3
load_start=$(bench_now_ns)
for dir in /big /small; do
  alluvium job load "$dir" --wait > "$bench_base/load$(basename "$dir").out" 2>&1 ||
    { cat "$bench_base/load$(basename "$dir").out" >&2; bench_die "job load $dir failed"; }
done
bench_log "loaded in $(bench_secs "$load_start" "$(bench_now_ns)") s"

# ---------------------------------------------------------------- measurements
# Each appends "case side round seconds" to $res and dies if the bytes were wrong.
check() {  # what line key expected
  local got
  got=$(kv "$2" "$3")
  [ "$got" = "$4" ] || bench_die "$1: $3=$got, expected $4 (output: $2)"
}
record() { echo "$1 $2 $3 $4" >> "$res"; }

client_seq() {  # case round [flags...]
  local c=$1 r=$2 out
  shift 2
  local full=()
  [ "$r" = 0 ] && full=(--full)
  out=$("$read_bench" client-seq --config "$bench_conf" "$@" "${full[@]}" "$big_path") ||
    bench_die "read_bench client-seq failed"
  check "$c round $r" "$out" bytes "$big_bytes"
  check "$c round $r" "$out" sampled "$big_sampled"
  check "$c round $r (cached)" "$out" from_ufs 0
  [ "$r" = 0 ] && check "$c warm-up" "$out" full "$big_full"
  record "$c" alluvium "$r" "$(kv "$out" seconds)"
}

run_side() {  # case side round
  local c=$1 side=$2 r=$3 out t0 t1
  case $c/$side in
    seq/base)
      t0=$EPOCHREALTIME
      cat "$big_file" > /dev/null
      t1=$EPOCHREALTIME
      record seq base "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')" ;;
    seq/alluvium) client_seq seq "$r" ;;
    remote/base)
      out=$("$tcp_pair" "$big_file") || bench_die "tcp_pair failed"
      check "tcp_pair round $r" "$out" bytes "$big_bytes"
      check "tcp_pair round $r" "$out" sampled "$big_sampled"
      record remote base "$r" "$(kv "$out" seconds)" ;;
    remote/alluvium) client_seq remote "$r" "${remote_flags[@]}" ${BENCH_REMOTE_FLAGS:-} ;;
    small/base)
      out=$("$read_bench" local-small "$ufs/small") || bench_die "read_bench local-small failed"
      check "local-small round $r" "$out" files "$small_count"
      [ "$r" = 0 ] && small_sum=$(kv "$out" sum)
      check "local-small round $r" "$out" sum "$small_sum"
      record small base "$r" "$(kv "$out" seconds)" ;;
    small/alluvium)
      out=$("$read_bench" client-small --config "$bench_conf" /small) ||
        bench_die "read_bench client-small failed"
      check "client-small round $r" "$out" files "$small_count"
      check "client-small round $r" "$out" sum "$small_sum"
      check "client-small round $r (cached)" "$out" from_ufs 0
      record small alluvium "$r" "$(kv "$out" seconds)" ;;
    random/base)
      out=$("$read_bench" local-random "$big_file" "$random_count" "$seed") ||
        bench_die "read_bench local-random failed"
      [ "$r" = 0 ] && random_sum=$(kv "$out" sum)
      check "local-random round $r" "$out" sum "$random_sum"
      record random base "$r" "$(kv "$out" seconds)" ;;
    random/alluvium)
      out=$("$read_bench" client-random --config "$bench_conf" "$big_path" "$random_count" "$seed") ||
        bench_die "read_bench client-random failed"
      check "client-random round $r" "$out" sum "$random_sum"
      check "client-random round $r (cached)" "$out" from_ufs 0
      record random alluvium "$r" "$(kv "$out" seconds)" ;;
    *) bench_die "unknown case $c" ;;
  esac
}

echo "loadavg 0 $(bench_loadavg)" > "$bench_base/loadavg"
for r in $(seq 0 "$rounds"); do
  bench_log "== $([ "$r" = 0 ] && echo warm-up || echo "round $r of $rounds") (load average $(bench_loadavg))"
  for c in $cases; do
    # The baseline goes first in the warm-up: the small and random cases take its sums as truth.
    if [ "$r" = 0 ] || [ $((r % 2)) = 1 ]; then
      run_side "$c" base "$r"
      run_side "$c" alluvium "$r"
    else
      run_side "$c" alluvium "$r"
      run_side "$c" base "$r"
    fi
  done
done
echo "loadavg 99 $(bench_loadavg)" >> "$bench_base/loadavg"
bench_stop_cluster

# ---------------------------------------------------------------- report
stat_of() {  # case side -> "min median" over the timed rounds
  awk -v c="$1" -v s="$2" '$1 == c && $2 == s && $3 > 0 { print $4 }' "$res" | bench_min_median
}
report() {  # case label baseline_name kind amount target
  local c=$1 label=$2 name=$3 kind=$4 amount=$5 target=$6 b_min b_med a_min a_med
  read -r b_min b_med < <(stat_of "$c" base)
  read -r a_min a_med < <(stat_of "$c" alluvium)
  awk -v label="$label" -v rounds="$rounds" -v name="$name" -v kind="$kind" -v amount="$amount" \
      -v target="$target" -v bmin="$b_min" -v bmed="$b_med" -v amin="$a_min" -v amed="$a_med" '
    function rate(t) {
      if (kind == "bytes") return sprintf("%.2f GB/s", amount / t / 1e9)
      return sprintf("%.1fk %s/s", amount / t / 1000, kind)
    }
    BEGIN {
      rb = bmin / amin; rm = bmed / amed
      verdict = target == "" ? "no target" : sprintf("target >= %.1fx: %s", target, rb >= target ? "met" : "MISSED")
      printf "read %s, %d rounds: %s best %.3f s (%s), median %.3f s | alluvium best %.3f s (%s), median %.3f s | %.3fx best, %.3fx median (%s)\n",
        label, rounds, name, bmin, rate(bmin), bmed, amin, rate(amin), amed, rb, rm, verdict
    }'
}

echo
size_label=$([ "$big_mib" -ge 1024 ] && echo "$((big_mib / 1024)) GiB" || echo "$big_mib MiB")
for c in $cases; do
  case $c in
    seq) report seq "$size_label cached, $seq_mode" "cat" bytes "$big_bytes" 0.8 ;;
    remote) report remote "$size_label cached, $remote_mode${BENCH_REMOTE_FLAGS:+ $BENCH_REMOTE_FLAGS}" "raw TCP 127.0.0.1" bytes "$big_bytes" 0.8 ;;
    small) report small "$small_count x $small_kib KiB cached, one process" "open/read/close on tmpfs" files "$small_count" 0.5 ;;
    random) report random "$random_count x 4 KiB at random offsets of the $size_label file" "pread on tmpfs" reads "$random_count" "" ;;
  esac
done
for c in $cases; do
  awk -v c="$c" '$1 == c && $3 > 0 { t[$2] = t[$2] " " $4 }
    END { printf "    %s rounds (s): baseline%s | alluvium%s\n", c, t["base"], t["alluvium"] }' "$res"
done
awk '{ l[$2 == 0 ? 0 : 1] = $3 }
  END { printf "    1-min load average %s before, %s after (2 cores)%s\n", l[0], l[1],
          ((l[0] > 1.5 || l[1] > 2.5) ? ": other work was running, figures are noisy" : "") }' "$bench_base/loadavg"
echo "    $sc_key in \`alluvium conf defaults\`: $([ "$short_circuit" = 1 ] && echo "yes (seq ran with short-circuit on, remote with it off)" || echo "no (both sequential cases ran the gRPC path)")"
echo "    every Alluvium read matched the UFS bytes, and the cluster served them all from its page stores (0 bytes from the UFS)"
