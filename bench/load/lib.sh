# shellcheck shell=bash
# Shared helpers for the benchmarks that run a local cluster: bench/load, bench/load-metadata,
# bench/load-s3, bench/read and bench/fuse (sourced, not run).
# A benchmark calls bench_setup NAME first; it creates a private temp dir, picks free ports on
# 127.0.0.1, writes a config and installs an EXIT trap that stops every process it started.

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_bin=${ALLUVIUM_BIN:-$bench_repo/build/src/cli/alluvium}

bench_log() { printf '%s\n' "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# Another developer may be rebuilding: wait up to a minute for the binary to be back.
bench_wait_binary() {
  local i
  for i in $(seq 1 60); do
    [ -x "$bench_bin" ] && return 0
    sleep 1
  done
  bench_die "$bench_bin is missing; build it with: cd $bench_repo && scripts/build.sh build"
}

# Runs the CLI against this benchmark's cluster (retries once if the binary is briefly missing).
alluvium() {
  [ -x "$bench_bin" ] || bench_wait_binary
  "$bench_bin" --config "$bench_conf" "$@"
}

bench_free_ports() {  # prints N free TCP ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

bench_loadavg() { cut -d' ' -f1 /proc/loadavg; }

bench_now_ns() { date +%s%N; }
bench_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# bench_setup NAME UFS_DIR: state under $bench_base (removed on exit unless BENCH_KEEP=1).
bench_setup() {
  local name=$1 parent=${ALLUVIUM_BENCH_DIR:-/tmp}
  mkdir -p "$parent"
  bench_base=$(mktemp -d "$parent/alluvium-bench-$name.XXXXXX")
  bench_run=$bench_base/cluster
  bench_conf=$bench_base/alluvium-site.properties
  bench_bg_pids=()
  bench_exit_hooks=()  # commands run on exit before anything is stopped (bench_at_exit)
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# bench_random_file PATH BYTES SEED: incompressible bytes, different for each SEED.
bench_random_file() {
  local f=$1 bytes=$2 seed=$3
  if command -v openssl >/dev/null; then
    # AES-CTR keystream: incompressible, distinct per seed, ~3x faster than /dev/urandom here.
    openssl enc -aes-128-ctr -pass "pass:alluvium-$seed" -nosalt -pbkdf2 < /dev/zero 2>/dev/null |
      head -c "$bytes" > "$f" || true
  else
    head -c "$bytes" /dev/urandom > "$f"
  fi
  [ "$(stat -c %s "$f")" = "$bytes" ] || bench_die "could not write $f"
}

# bench_small_files DIR COUNT KIB DIRS: COUNT files of KIB KiB each (DIR/dNN/fNNNNNN), spread
# over DIRS subdirectories, each a different window of one random blob.
bench_small_files() {
  python3 - "$@" <<'PY'
import os, sys
root, count, kib, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
blob = os.urandom(kib * 1024 + count)
for d in range(dirs):
    os.makedirs(os.path.join(root, f"d{d:02d}"), exist_ok=True)
for i in range(count):
    path = os.path.join(root, f"d{i % dirs:02d}", f"f{i:06d}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, blob[i:i + kib * 1024])
    os.close(fd)
PY
}

bench_write_conf() {  # bench_write_conf UFS_DIR [extra key=value lines...]
  local ufs=$1
  shift
  read -r bench_rpc_port bench_web_port < <(bench_free_ports 2)
  {
    echo "alluvium.work.dir=$bench_base/work"
    echo "alluvium.ufs.root=file://$ufs"
    echo "alluvium.cluster.run.dir=$bench_run"
    echo "alluvium.coordinator.rpc.port=$bench_rpc_port"
    echo "alluvium.coordinator.web.port=$bench_web_port"
    echo "alluvium.worker.page.store.size=${BENCH_PAGE_STORE_SIZE:-4GB}"
    for line in "$@"; do echo "$line"; done
  } > "$bench_conf"
}

bench_pids() {  # every recorded "name pid" of the cluster
  local f
  for f in "$bench_run"/pids/*.pid; do
    [ -e "$f" ] || continue
    echo "$(basename "$f" .pid) $(cat "$f")"
  done
}

# Alive and not a zombie. Exited daemons are reparented to PID 1, which on these VMs reaps them
# only every ~2 s; until then `kill -0` (and `alluvium cluster stop`) still sees them.
bench_alive() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

bench_wait_dead() {  # pid seconds
  local i
  for ((i = 0; i < $2 * 50; i++)); do
    bench_alive "$1" || return 0
    sleep 0.02
  done
  return 1
}

# Stops this cluster's recorded processes by PID: workers (in parallel), then the coordinator,
# SIGTERM with 10 s grace, then SIGKILL. Same order as `alluvium cluster stop`, without its
# one-at-a-time wait for PID 1 to reap each one.
bench_stop_cluster() {
  [ -n "${bench_run:-}" ] && [ -d "$bench_run/pids" ] || return 0
  local name pid phase
  for phase in worker coordinator; do
    local pids=()
    while read -r name pid; do
      case $name in coordinator) [ "$phase" = coordinator ] || continue ;; *) [ "$phase" = worker ] || continue ;; esac
      [ -n "$pid" ] || continue
      if bench_alive "$pid"; then kill "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    done < <(bench_pids)
    for pid in "${pids[@]}"; do
      bench_wait_dead "$pid" 10 || { bench_log "pid $pid ignored SIGTERM for 10 s; killing it"; kill -9 "$pid" 2>/dev/null || true; bench_wait_dead "$pid" 5 || true; }
    done
  done
  rm -f "$bench_run"/pids/*.pid
}

# bench_at_exit COMMAND: run on exit (success or not), before the cluster stops; an unmount, say.
bench_at_exit() { bench_exit_hooks+=("$1"); }

bench_cleanup() {
  local rc=$?
  set +e
  local pid hook
  for hook in "${bench_exit_hooks[@]}"; do eval "$hook"; done
  for pid in "${bench_bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  bench_stop_cluster
  if [ "$rc" != 0 ] && [ -d "$bench_run/logs" ]; then
    local keep=/tmp/alluvium-bench-logs.$$
    cp -r "$bench_run/logs" "$keep" 2>/dev/null && bench_log "cluster logs kept in $keep"
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    bench_log "kept $bench_base"
  elif [ -n "${bench_base:-}" ]; then
    bench_log "removing $bench_base"
    rm -rf "$bench_base"
  fi
  exit "$rc"
}

# A fresh, empty cache: stop, wipe the coordinator's and workers' state (page stores, metadata
# stores, jobs), start again. Not timed by callers.
#
# The old state is moved to $bench_base/trash, not deleted: this VM's ext4 has no journal, and
# without one ext4 will not reuse an inode within ~30-60 s of its deletion; inode allocation
# then scans past every recently deleted one (recently_deleted() in the kernel), and creating a
# file right after a mass delete costs ~0.6 ms instead of ~0.05 ms. Deleting 20,000 page files
# between rounds would slow the next round's file creation (the copy's and the load's alike).
bench_trash() {  # moves each existing path into the trash (deleted on exit)
  mkdir -p "$bench_base/trash"
  local p
  for p in "$@"; do
    [ -e "$p" ] && mv "$p" "$(mktemp -d "$bench_base/trash/t.XXXXXX")/"
  done
  return 0
}

bench_fresh_cluster() {
  local workers=${1:-3}
  bench_stop_cluster
  bench_trash "$bench_run"/coordinator "$bench_run"/worker-* "$bench_base/work"
  alluvium cluster start --workers "$workers" > "$bench_base/cluster-start.out" 2>&1 ||
    { cat "$bench_base/cluster-start.out" >&2; bench_die "cluster start failed"; }
}

bench_load_dirs() {  # bench_load_dirs DIR...: `job load --wait` of each; a failed one ends the bench
  local dir
  for dir in "$@"; do
    alluvium job load "$dir" --wait > "$bench_base/load.out" 2>&1 ||
      { cat "$bench_base/load.out" >&2; bench_die "job load $dir failed"; }
  done
}

bench_cpu_ticks() {  # utime+stime clock ticks of a pid (0 if gone)
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Progress of the load job for PATH as JSON (one line).
bench_progress_json() {
  alluvium job load "$@" --progress --format JSON
}

# bench_json FILE KEY: a top-level field of a JSON object.
bench_json() {
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}

# Statistics over numbers on stdin: "min median".
bench_min_median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan nan"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print v[1], m }'
}
