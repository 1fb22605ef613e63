#!/usr/bin/env bash
# Distributed load from S3 against the S3 server's own limit and against rclone.
#
# Builds (scripts/build.sh build), starts s3rver on a free 127.0.0.1 port with a temp data dir,
# seeds two datasets by writing s3rver's on-disk layout directly (as
# tests/testing/s3_test_server.cc does; an object is BUCKET/KEY._S3rver_object plus its hex MD5 in
# ._S3rver_object.md5), then for each dataset alternates, after one warm-up round of each:
#   gets     plain parallel GETs of every object, 16 at a time over kept-alive connections:
#              `curl --parallel --parallel-max 16` (one process) and 16 `curl` processes driven
#              by `xargs -P 16`, each fetching its share of the URLs in turn; the faster of the
#              two is the baseline "plain GETs" (the server's limit);
#            For reference only (not in the ratios): the same GETs written to local files (what
#            storing the bytes costs a client), and one ListObjectsV2 walk of the prefix (every real
#            client lists before it reads; the plain GETs do not);
#   rclone   `rclone copy s3:BUCKET/PREFIX DIR` (env-only config) as users run it, with rclone's
#              defaults (4 transfers, 8 checkers), and tuned like the GETs with `--transfers 16
#              --checkers 16`; the copy deleted between rounds. Ratios are given against both;
#   alluvium `alluvium job load s3://BUCKET/PREFIX/ --wait` on a fresh local 3-worker cluster
#              with the bucket mounted at /s3 (stop, wipe, start and mount are not timed), so
#              every round reads from S3. One or more configurations (BENCH_CONFIGS) alternate.
# Every Alluvium round must end SUCCEEDED with every file processed, every byte loaded and no
# failure; after the warm-up load of each dataset one object is read back with `fs cp` and its
# sha256 compared with the seeded bytes (and it must come from the cache).
#
# Prints, per dataset, the best and median seconds and rates of each method, the ratios
# alluvium/rclone (target >= 1.5x) and alluvium/plain GETs (target >= 0.9x), CPU seconds of the
# client side and of s3rver, and a timeline of the best Alluvium round.
#
# Environment:
#   BENCH_QUICK=1           4 x 32 MiB and 2,000 x 4 KiB, 2 rounds (default 8 x 128 MiB,
#                           10,000 x 4 KiB, 3 rounds)
#   BENCH_BIG_COUNT, BENCH_BIG_MIB, BENCH_SMALL_COUNT, BENCH_SMALL_KIB, BENCH_SMALL_DIRS (10)
#   BENCH_ROUNDS            timed rounds per dataset after the warm-up
#   BENCH_SETS="big small"  which datasets
#   BENCH_PARALLEL=16       GETs in flight for curl, --transfers/--checkers for the tuned rclone
#   BENCH_CONFIGS           Alluvium configurations to compare, ';'-separated
#                           "name:key=value,key=value" (default "default:" only); ratios are
#                           given for each. An entry may also hold `job load` flags (--partial-listing,
#                           --batch-size=50). Example:
#                           "default:;t32:alluvium.worker.ufs.read.threads=32;seg16:alluvium.user.file.segment.size=16MB"
#   BENCH_METHODS="gets rclone alluvium"   which methods to run
#   BENCH_NO_BUILD=1        skip scripts/build.sh build
#   ALLUVIUM_BENCH_DIR      parent of the temp dir (default /dev/shm when it has room, else /tmp);
#                           s3rver's data, rclone's copies and the page stores all live there.
#                           BENCH_KEEP=1 keeps it.
#   BENCH_PERF=1            perf record of the cluster and s3rver during each warm-up load
#                           (BENCH_PERF_ARGS: more perf record flags, e.g. --call-graph dwarf)
#                           (profile in the temp dir: use with BENCH_KEEP=1)
#   BENCH_S3RVER_LOG=1      let s3rver log every request (default --silent)
#   BENCH_PIN=1             (default with 2+ cores) s3rver runs on core 0 alone and every client
#                           (curl, rclone, the Alluvium cluster and CLI) on the other cores, as
#                           when the object store is another machine: otherwise the server's
#                           limit depends on how much CPU each client leaves it. BENCH_PIN=0
#                           shares every core between all of them.
#   ALLUVIUM_BIN            the alluvium binary (default build/src/cli/alluvium)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../load/lib.sh
source "$here/../load/lib.sh"   # bench_setup, bench_write_conf, bench_stop_cluster, ...
cd "$bench_repo"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  big_count=${BENCH_BIG_COUNT:-4} big_mib=${BENCH_BIG_MIB:-32}
  small_count=${BENCH_SMALL_COUNT:-2000} rounds=${BENCH_ROUNDS:-2}
else
  big_count=${BENCH_BIG_COUNT:-8} big_mib=${BENCH_BIG_MIB:-128}
  small_count=${BENCH_SMALL_COUNT:-10000} rounds=${BENCH_ROUNDS:-3}
fi
small_kib=${BENCH_SMALL_KIB:-4}
small_dirs=${BENCH_SMALL_DIRS:-10}
sets=${BENCH_SETS:-big small}
par=${BENCH_PARALLEL:-16}
methods=${BENCH_METHODS:-gets rclone alluvium}
configs_spec=${BENCH_CONFIGS:-default:}
load_timeout=${BENCH_LOAD_TIMEOUT:-900}
workers=3
bucket=alluvium-bench
big_bytes=$((big_count * (big_mib << 20)))
small_bytes=$((small_count * small_kib * 1024))

# ---------------------------------------------------------------- build, s3rver
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  bench_log "== building (scripts/build.sh build)"
  scripts/build.sh build >&2
fi
bench_wait_binary
command -v rclone >/dev/null || [[ " $methods " != *" rclone "* ]] || bench_die "rclone not found (apt-get install rclone)"
command -v curl >/dev/null || bench_die "curl not found"
s3rver_bin=$(scripts/s3rver.sh install)
s3rver_pkg=$(dirname "$s3rver_bin")/../s3rver
# Our listing-order fix; scripts/s3rver.sh may or may not have applied it already.
if ! patch -p1 -R --dry-run -s -f -d "$s3rver_pkg" < scripts/s3rver-listing.patch >/dev/null 2>&1; then
  patch -p1 -N -s -d "$s3rver_pkg" < scripts/s3rver-listing.patch ||
    bench_die "could not apply scripts/s3rver-listing.patch to $s3rver_pkg"
fi

# Where everything lives: tmpfs when it has room for the data, one copy and one cache of it.
need_kib=$(( ((big_bytes + small_bytes * 2) * 3 + (1 << 30)) / 1024 ))
if [ -z "${ALLUVIUM_BENCH_DIR:-}" ]; then
  shm_kib=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$shm_kib" ] && [ "$shm_kib" -gt $((need_kib * 2)) ]; then
    export ALLUVIUM_BENCH_DIR=/dev/shm
  else
    export ALLUVIUM_BENCH_DIR=/tmp
  fi
fi
bench_setup load-s3
avail_kib=$(df -Pk "$bench_base" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -gt "$need_kib" ] ||
  bench_die "need ~$((need_kib / 1024)) MiB free under $bench_base, have $((avail_kib / 1024)) MiB"
bench_log "== working in $bench_base ($(df -P "$bench_base" | awk 'NR == 2 { print $1 }'))"

s3data=$bench_base/s3rver
bdir=$s3data/$bucket
res=$bench_base/results   # lines: set method round seconds client_cpu s3rver_cpu [job_seconds]
: > "$res"
mkdir -p "$s3data" "$bench_base/ufs-root" "$bench_base/copies"

# Core 0 for the server, the rest for this script and everything it starts (children inherit).
cores=$(nproc)   # before pinning: nproc counts only the cores this process may use
pin=${BENCH_PIN:-$([ "$cores" -ge 2 ] && echo 1 || echo 0)}
server_cpus="" client_cpus=""
if [ "$pin" = 1 ]; then
  command -v taskset >/dev/null || bench_die "BENCH_PIN=1 needs taskset (util-linux)"
  server_cpus=0 client_cpus=1-$((cores - 1))
  taskset -pc "$client_cpus" $$ > /dev/null || bench_die "cannot pin this script to cores $client_cpus"
  bench_log "== pinned: s3rver on core $server_cpus, clients on cores $client_cpus"
fi
read -r s3port < <(bench_free_ports 1)
endpoint=http://127.0.0.1:$s3port
s3rver_args=(-d "$s3data" -a 127.0.0.1 -p "$s3port" --configure-bucket "$bucket")
[ "${BENCH_S3RVER_LOG:-0}" = 1 ] || s3rver_args+=(--silent)
# Node >= 17 needs the legacy provider for ListObjectsV2 continuation tokens (TOOLCHAIN.md).
server_prefix=()
[ -z "$server_cpus" ] || server_prefix=(taskset -c "$server_cpus")
NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--openssl-legacy-provider" \
  "${server_prefix[@]}" "$s3rver_bin" "${s3rver_args[@]}" > "$bench_base/s3rver.log" 2>&1 &
s3pid=$!
bench_bg_pids+=("$s3pid")   # bench_cleanup (EXIT trap) kills it by PID
for i in $(seq 1 300); do
  curl -sf -o /dev/null "$endpoint/$bucket" && [ -d "$bdir" ] && break
  bench_alive "$s3pid" || { cat "$bench_base/s3rver.log" >&2; bench_die "s3rver exited"; }
  sleep 0.1
done
curl -sf -o /dev/null "$endpoint/$bucket" || bench_die "s3rver did not serve $endpoint/$bucket in 30 s"
bench_log "== s3rver pid $s3pid on $endpoint, data in $s3data"

# ---------------------------------------------------------------- datasets
gen_start=$(bench_now_ns)
seed_big() {  # AES-CTR keystream: incompressible, distinct per object, fast
  local i=$1 key obj
  key=$(printf 'big/part-%03d.bin' "$i")
  obj=$bdir/$key._S3rver_object
  openssl enc -aes-128-ctr -pass "pass:alluvium-s3-$i-$$" -nosalt -pbkdf2 < /dev/zero 2>/dev/null |
    head -c $((big_mib << 20)) > "$obj" || true
  [ "$(stat -c %s "$obj")" = $((big_mib << 20)) ] || bench_die "could not write $obj"
  printf '%s' "$(md5sum "$obj" | cut -d' ' -f1)" > "$obj.md5"
  echo "$key"
}
keys_of() { cat "$bench_base/keys-$1"; }
if [[ " $sets " == *" big "* ]]; then
  mkdir -p "$bdir/big"
  seeders=()
  for i in $(seq 0 $((big_count - 1))); do
    seed_big "$i" > "$bench_base/key-big-$i" &
    seeders+=($!)
  done
  for pid in "${seeders[@]}"; do wait "$pid" || bench_die "seeding a big object failed"; done
  cat "$bench_base"/key-big-* | sort > "$bench_base/keys-big"
  rm -f "$bench_base"/key-big-*
fi
if [[ " $sets " == *" small "* ]]; then
  python3 - "$bdir" "$small_count" "$small_kib" "$small_dirs" > "$bench_base/keys-small" <<'PY'
import hashlib, os, sys
bdir, count, kib, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
blob = os.urandom(kib * 1024 + count)  # each object a different window of one random blob
for d in range(dirs):
    os.makedirs(os.path.join(bdir, "small", f"d{d:02d}"), exist_ok=True)
keys = []
for i in range(count):
    key = f"small/d{i % dirs:02d}/f{i:06d}"
    data = blob[i:i + kib * 1024]
    path = os.path.join(bdir, key + "._S3rver_object")
    with open(path, "wb") as f:
        f.write(data)
    with open(path + ".md5", "w") as f:
        f.write(hashlib.md5(data).hexdigest())
    keys.append(key)
print("\n".join(sorted(keys)))
PY
fi
bench_log "== seeded $(du -sh "$bdir" | cut -f1) in s3://$bucket in $(bench_secs "$gen_start" "$(bench_now_ns)") s"

# URL lists for the GET baselines: one curl config with every URL, and $par configs with a share
# each (round-robin) for the xargs variant.
for set in $sets; do
  keys_of "$set" | awk -v e="$endpoint/$bucket/" '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", e, $0 }' \
    > "$bench_base/urls-$set.cfg"
  # The same GETs written to local files, for reference: what storing the bytes costs a client.
  keys_of "$set" | awk -v e="$endpoint/$bucket/" -v d="$bench_base/copies/gets-$set/" \
    '{ printf "url = \"%s%s\"\noutput = \"%s%s\"\n", e, $0, d, $0 }' > "$bench_base/urls-$set-files.cfg"
  mkdir -p "$bench_base/urls-$set"
  keys_of "$set" | awk -v e="$endpoint/$bucket/" -v n="$par" -v d="$bench_base/urls-$set" \
    '{ f = sprintf("%s/part-%03d.cfg", d, (NR - 1) % n); printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", e, $0 > f }'
done

# Sanity check of the seeded layout through the server: listing and one object.
read -r first_set _ <<< "$sets"
first_key=$(keys_of "$first_set" | head -n 1)
curl -sf "$endpoint/$bucket?list-type=2&max-keys=2" | grep -q "<Key>" || bench_die "s3rver lists no keys"
[ "$(curl -sf "$endpoint/$bucket/$first_key" | sha256sum | cut -d' ' -f1)" = \
  "$(sha256sum < "$bdir/$first_key._S3rver_object" | cut -d' ' -f1)" ] || bench_die "s3rver serves other bytes for $first_key"

# ---------------------------------------------------------------- alluvium configurations
# BENCH_CONFIGS "name:k=v,k=v;name2:..." -> cfg_names[], one conf file each.
IFS=';' read -r -a cfg_specs <<< "$configs_spec"
cfg_names=()
page_store_size=${BENCH_PAGE_STORE_SIZE:-$(( (big_bytes + small_bytes) * 2 / 1048576 + 1024 ))MB}
for spec in "${cfg_specs[@]}"; do
  spec=$(echo "$spec" | xargs)   # trim
  [ -n "$spec" ] || continue
  name=${spec%%:*}
  [ -n "$name" ] || bench_die "BENCH_CONFIGS entry '$spec' has no name"
  kvs=()
  if [[ "$spec" == *:* ]]; then IFS=',' read -r -a kvs <<< "${spec#*:}"; fi
  extra=("alluvium.worker.page.store.size=$page_store_size")
  flags=""
  for kv in "${kvs[@]}"; do
    kv=$(echo "$kv" | xargs)
    case $kv in
      "") ;;
      --*) flags+=" $kv" ;;   # a `job load` flag, e.g. --partial-listing or --batch-size=50
      *=*) extra+=("$kv") ;;
      *) bench_die "BENCH_CONFIGS entry '$spec': '$kv' is neither key=value nor --flag" ;;
    esac
  done
  echo "$flags" > "$bench_base/flags-$name"
  bench_conf=$bench_base/conf-$name.properties
  BENCH_PAGE_STORE_SIZE=$page_store_size bench_write_conf "$bench_base/ufs-root" "${extra[@]}"
  "$bench_bin" --config "$bench_conf" conf show > "$bench_base/conf-$name.show" 2>&1 ||
    { cat "$bench_base/conf-$name.show" >&2; bench_die "configuration $name is not valid"; }
  cfg_names+=("$name")
done
[ "${#cfg_names[@]}" -gt 0 ] || bench_die "BENCH_CONFIGS names no configuration"

# ---------------------------------------------------------------- measurements
cpu_ticks() { bench_cpu_ticks "$1"; }
ticks_per_s=$(getconf CLK_TCK)

# run_timed OUT CMD...: runs CMD, writes "real user+sys" of it (children included) to OUT.
run_timed() {
  local out=$1 t rc=0
  shift
  local TIMEFORMAT='%R %U %S'
  t=$( { time "$@" > "$out.stdout" 2> "$out.stderr"; } 2>&1 ) || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 20 "$out.stderr" >&2
    return "$rc"
  fi
  read -r real user sys <<< "$(tail -n 1 <<< "$t")"
  awk -v r="$real" -v u="$user" -v s="$sys" 'BEGIN { printf "%s %.2f\n", r, u + s }' > "$out"
}

record() {  # set method round real client_cpu s3_ticks_before [job_seconds]
  local s3cpu
  s3cpu=$(awk -v a="$6" -v b="$(cpu_ticks "$s3pid")" -v t="$ticks_per_s" 'BEGIN { printf "%.2f", (b - a) / t }')
  echo "$1 $2 $3 $4 $5 $s3cpu ${7:-}" >> "$res"
}

expected_bytes() { case $1 in big) echo "$big_bytes" ;; small) echo "$small_bytes" ;; esac; }
expected_count() { case $1 in big) echo "$big_count" ;; small) echo "$small_count" ;; esac; }

time_gets() {  # set variant(curl|xargs) round
  local set=$1 v=$2 round=$3 out=$bench_base/gets-$1-$2-$3 s3t
  s3t=$(cpu_ticks "$s3pid")
  case $v in
    curl) run_timed "$out" curl -s -f --parallel --parallel-max "$par" -w '%{size_download}\n' \
            -K "$bench_base/urls-$set.cfg" ;;
    files) run_timed "$out" curl -s -f --parallel --parallel-max "$par" --create-dirs -w '%{size_download}\n' \
             -K "$bench_base/urls-$set-files.cfg" ;;
    xargs) run_timed "$out" sh -c 'ls "$1"/*.cfg | xargs -P "$2" -n 1 curl -s -f -w "%{size_download}\n" -K' \
             sh "$bench_base/urls-$set" "$par" ;;
    # Signed with SigV4 as every client of a private bucket must (rclone and Alluvium do):
    # s3rver does not check V4 signatures but parses the Authorization header of each request.
    signed) run_timed "$out" curl -s -f --parallel --parallel-max "$par" -w '%{size_download}\n' \
              --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
              -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -K "$bench_base/urls-$set.cfg" ;;
  esac || bench_die "$v GETs of $set failed (round $round)"
  local n bytes
  read -r n bytes < <(awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }' "$out.stdout")
  [ "$n" = "$(expected_count "$set")" ] && [ "$bytes" = "$(expected_bytes "$set")" ] ||
    bench_die "$v GETs of $set: $n objects, $bytes bytes (want $(expected_count "$set"), $(expected_bytes "$set"))"
  read -r real cpu < "$out"
  record "$set" "gets-$v" "$round" "$real" "$cpu" "$s3t"
  if [ "$v" = files ]; then
    [ "$(find "$bench_base/copies/gets-$set" -type f | wc -l)" = "$(expected_count "$set")" ] ||
      bench_die "GETs to files of $set left $(find "$bench_base/copies/gets-$set" -type f | wc -l) files"
    if [ "$set" = big ]; then rm -rf "$bench_base/copies/gets-$set"; else bench_trash "$bench_base/copies/gets-$set"; fi
  fi
}

# One listing of the prefix (ListObjectsV2, 1000 keys a page, unsigned), for reference: every
# real client (rclone, Alluvium) lists before it reads; the plain GETs do not.
time_list() {  # set round
  local set=$1 round=$2 out=$bench_base/list-$1-$2 s3t
  s3t=$(cpu_ticks "$s3pid")
  run_timed "$out" sh -c '
    token=""; n=0
    while :; do
      if [ -z "$token" ]; then
        page=$(curl -sf "$1?list-type=2&prefix=$2/") || exit 1
      else
        page=$(curl -sf -G "$1" --data-urlencode list-type=2 --data-urlencode "prefix=$2/" \
                 --data-urlencode "continuation-token=$token") || exit 1
      fi
      n=$((n + $(printf "%s" "$page" | grep -o "<Key>" | wc -l)))
      token=$(printf "%s" "$page" | sed -n "s/.*<NextContinuationToken>\([^<]*\)<.*/\1/p")
      [ -n "$token" ] || break
    done
    echo "$n"' sh "$endpoint/$bucket" "$set" || bench_die "listing $set failed (round $round)"
  [ "$(cat "$out.stdout")" = "$(expected_count "$set")" ] ||
    bench_die "listing $set: $(cat "$out.stdout") keys, want $(expected_count "$set")"
  read -r real cpu < "$out"
  record "$set" list "$round" "$real" "$cpu" "$s3t"
}

rclone_env=(
  -u AWS_CA_BUNDLE   # rclone 1.60 refuses to start with it set (TOOLCHAIN.md)
  RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other
  RCLONE_CONFIG_S3_ENDPOINT="$endpoint"
  RCLONE_CONFIG_S3_ACCESS_KEY_ID=S3RVER RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=S3RVER
  RCLONE_CONFIG_S3_FORCE_PATH_STYLE=true
  RCLONE_CONFIG=/dev/null
)
rclone_method() { [ "$1" = defaults ] && echo rclone || echo "rclone-$1"; }
time_rclone() {  # set variant(defaults|tuned) round
  local set=$1 v=$2 round=$3 out=$bench_base/rclone-$1-$2-$3 dst=$bench_base/copies/$1 s3t flags=()
  [ "$v" = defaults ] || flags=(--transfers "$par" --checkers "$par")
  s3t=$(cpu_ticks "$s3pid")
  run_timed "$out" env "${rclone_env[@]}" rclone copy "${flags[@]}" \
    "s3:$bucket/$set" "$dst" || bench_die "rclone copy ($v) of $set failed (round $round)"
  local n bytes
  read -r n bytes < <(find "$dst" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }')
  [ "$n" = "$(expected_count "$set")" ] && [ "$bytes" = "$(expected_bytes "$set")" ] ||
    bench_die "rclone copy ($v) of $set: $n files, $bytes bytes (want $(expected_count "$set"), $(expected_bytes "$set"))"
  read -r real cpu < "$out"
  record "$set" "$(rclone_method "$v")" "$round" "$real" "$cpu" "$s3t"
  if [ "$set" = big ]; then rm -rf "$dst"; else bench_trash "$dst"; fi  # see bench_trash in lib.sh
}

snapshot() {  # name pid cpu_ticks, per cluster process
  local name pid
  while read -r name pid; do echo "$name $pid $(cpu_ticks "$pid")"; done < <(bench_pids | sort)
}

fresh_cluster() {  # set cfg: stop, wipe, start, mount (not timed)
  local set=$1 cfg=$2
  bench_conf=$bench_base/conf-$cfg.properties
  bench_stop_cluster
  if [ "$set" = big ]; then
    rm -rf "$bench_run"/coordinator "$bench_run"/worker-* "$bench_base/work"
  else  # many small page files: see bench_trash in lib.sh
    bench_trash "$bench_run"/coordinator "$bench_run"/worker-* "$bench_base/work"
  fi
  alluvium cluster start --workers "$workers" > "$bench_base/cluster-start.out" 2>&1 ||
    { cat "$bench_base/cluster-start.out" >&2; bench_die "cluster start failed"; }
  alluvium fs mount /s3 "s3://$bucket" --option "alluvium.underfs.s3.endpoint=$endpoint" \
    --option s3a.accessKeyId=S3RVER --option s3a.secretKey=S3RVER > "$bench_base/mount.out" 2>&1 ||
    { cat "$bench_base/mount.out" >&2; bench_die "mount of s3://$bucket failed"; }
}

time_alluvium() {  # set cfg round
  local set=$1 cfg=$2 round=$3 out=$bench_base/alluvium-$1-$2-$3
  local uri="s3://$bucket/$set/" files bytes
  files=$(expected_count "$set") bytes=$(expected_bytes "$set")
  fresh_cluster "$set" "$cfg"
  snapshot > "$out.before"
  local s3t t0 t1 rc=0
  s3t=$(cpu_ticks "$s3pid")
  t0=$(bench_now_ns)
  local flags perf_pid=""
  read -r -a flags < "$bench_base/flags-$cfg" || true
  if [ "${BENCH_PERF:-0}" = 1 ] && [ "$round" = 0 ]; then  # profile the warm-up round
    perf record -q -F 999 ${BENCH_PERF_ARGS:-} -o "$out.perf.data" \
      -p "$(bench_pids | awk -v s="$s3pid" '{ printf "%s,", $2 } END { print s }')" > "$out.perf.log" 2>&1 &
    perf_pid=$!
    sleep 0.5
    s3t=$(cpu_ticks "$s3pid")
    t0=$(bench_now_ns)
  fi
  timeout "$load_timeout" "$bench_bin" --config "$bench_conf" job load "$uri" --wait "${flags[@]}" > "$out.text" 2>&1 || rc=$?
  t1=$(bench_now_ns)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null || true
    perf report -i "$out.perf.data" --stdio --no-children --sort comm,dso,sym 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -n 60 > "$out.perf.txt" || true
    bench_log "   perf profile of the warm-up load ($cfg): $out.perf.txt"
  fi
  snapshot > "$out.after"
  bench_progress_json "$uri" --verbose > "$out.json" 2>&1 || true
  alluvium cluster metrics > "$out.metrics" 2>&1 || true
  cp -r "$bench_run/logs" "$out.logs" 2>/dev/null || true
  if [ "$rc" != 0 ]; then
    cat "$out.text" "$out.json" >&2
    [ "$rc" = 124 ] && alluvium job load "$uri" --stop > /dev/null 2>&1
    bench_die "job load $uri exited $rc ($cfg, round $round)"
  fi
  local state elapsed_ms loaded processed failed
  state=$(bench_json "$out.json" mJobState)
  elapsed_ms=$(bench_json "$out.json" mTimeElapsed)
  loaded=$(bench_json "$out.json" mLoadedByteCount)
  processed=$(bench_json "$out.json" mProcessedFileCount)
  failed=$(bench_json "$out.json" mFailedFileCount)
  if [ "$state" != SUCCEEDED ] || [ "$processed" != "$files" ] || [ "$loaded" != "$bytes" ] || [ "$failed" != 0 ]; then
    cat "$out.text" "$out.json" >&2
    bench_die "load of $uri ($cfg): state $state, $processed of $files files, $loaded of $bytes bytes, $failed failed"
  fi
  grep -q "Job State: SUCCEEDED" "$out.text" && grep -q "Files Processed: $files" "$out.text" ||
    { cat "$out.text" >&2; bench_die "job load --wait of $uri did not print SUCCEEDED with $files files"; }
  # When pages landed (page file mtimes), relative to the job's start on the coordinator's clock.
  local start_ms
  start_ms=$(bench_json "$out.json" mStartTime)
  find "$bench_run"/worker-*/pages/pages -type f -printf '%T@\n' 2>/dev/null | sort -g |
    awk -v s="$start_ms" 'NR == 1 { f = $1 } { l = $1 } END { if (NR) printf "%.3f %.3f %d\n", f - s / 1000, l - s / 1000, NR }' > "$out.pages"
  # And per worker: when its last page landed (a worker that ends early shows uneven placement).
  local w
  for w in "$bench_run"/worker-*/; do
    find "$w/pages/pages" -type f -printf '%T@ %s\n' 2>/dev/null |
      awk -v s="$start_ms" '$1 > l { l = $1 } { b += $2 } END { if (NR) printf "%.0f MB by %.2f s\n", b / 1e6, l - s / 1000 }'
  done | paste -sd, | sed 's/,/, /g' > "$out.worker-ends"
  local cpu
  cpu=$(join "$out.before" "$out.after" | awk -v t="$ticks_per_s" '{ c += $5 - $3 } END { printf "%.2f", c / t }')
  record "$set" "alluvium-$cfg" "$round" "$(bench_secs "$t0" "$t1")" "$cpu" "$s3t" \
    "$(awk -v m="$elapsed_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
}

# Reads one object back through the cache: bytes must match the seeded object and come from the
# cache (the load just put them there).
verify_readback() {  # set
  local set=$1 key out=$bench_base/readback
  key=$(keys_of "$set" | tail -n 1)
  alluvium fs cp "/s3/$key" "$out" > "$out.text" 2>&1 || { cat "$out.text" >&2; bench_die "fs cp /s3/$key failed"; }
  local want got
  want=$(sha256sum < "$bdir/$key._S3rver_object" | cut -d' ' -f1)
  got=$(sha256sum < "$out" | cut -d' ' -f1)
  [ "$want" = "$got" ] || bench_die "fs cp /s3/$key: sha256 $got, seeded $want"
  grep -q " 0 from UFS" "$out.text" || { cat "$out.text" >&2; bench_die "fs cp /s3/$key read from S3 after the load"; }
  bench_log "   verified: $(cat "$out.text"); sha256 $got matches the seeded object"
  rm -f "$out"
}

has() { [[ " $methods " == *" $1 "* ]]; }
run_round() {  # set round reverse(0|1)
  local set=$1 round=$2 rev=$3 steps=() i
  if has gets; then
    steps+=("time_gets $set curl $round" "time_gets $set xargs $round" "time_gets $set signed $round"
            "time_gets $set files $round" "time_list $set $round")
  fi
  if has rclone; then steps+=("time_rclone $set defaults $round" "time_rclone $set tuned $round"); fi
  if has alluvium; then
    for cfg in "${cfg_names[@]}"; do steps+=("time_alluvium $set $cfg $round"); done
  fi
  if [ "$rev" = 1 ]; then
    for ((i = ${#steps[@]} - 1; i >= 0; i--)); do ${steps[i]}; done
  else
    for i in "${!steps[@]}"; do ${steps[i]}; done
  fi
}

for set in $sets; do
  label=$([ "$set" = big ] && echo "$big_count x $big_mib MiB" || echo "$small_count x $small_kib KiB")
  echo "$set loadavg 0 $(bench_loadavg)" >> "$res"
  bench_log "== $label: warm-up (load average $(bench_loadavg))"
  run_round "$set" 0 0
  if has alluvium; then
    # The cluster of the last warm-up step still holds the dataset.
    verify_readback "$set"
  fi
  for r in $(seq 1 "$rounds"); do
    bench_log "== $label: round $r of $rounds (load average $(bench_loadavg))"
    run_round "$set" "$r" $((r % 2 == 0 ? 1 : 0))
  done
  bench_stop_cluster
  echo "$set loadavg 99 $(bench_loadavg)" >> "$res"
done

# ---------------------------------------------------------------- report
stat_of() {  # set method [column] -> "min median" over the timed rounds
  awk -v s="$1" -v m="$2" -v c="${3:-4}" '$1 == s && $2 == m && $3 > 0 { print $c }' "$res" | bench_min_median
}
best_round() {  # set method -> round with the minimum time
  awk -v s="$1" -v m="$2" '$1 == s && $2 == m && $3 > 0 { print $4, $3 }' "$res" | sort -g | head -n 1 | cut -d' ' -f2
}
field_of_round() {  # set method round column
  awk -v s="$1" -v m="$2" -v r="$3" -v c="$4" '$1 == s && $2 == m && $3 == r { print $c }' "$res"
}

median_x() {  # ratios on stdin, one a line -> their median as "0.87x" ("-" if none)
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.2fx", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# Median over the timed rounds of baseline/alluvium within each round, the baseline being the
# fastest of the given methods in that round. The methods of a round run back to back, so this
# cancels the slow and fast spells of the machine that move whole rounds together.
paired_ratio() {  # set alluvium-method baseline-method...
  local set=$1 m=$2
  shift 2
  awk -v s="$set" -v m="$m" -v bases=" $* " '$1 == s && $3 > 0 {
      if ($2 == m) a[$3] = $4
      else if (index(bases, " " $2 " ") && (!($3 in b) || $4 < b[$3])) b[$3] = $4
    }
    END { for (r in a) if (r in b) print b[r] / a[r] }' "$res" | median_x
}

# The most a client that lists can reach against plain GETs when the server's CPU is the limit
# (s3rver is one Node.js process): GETs / (GETs + one listing), median over the rounds.
listing_ceiling() {  # set
  awk -v s="$1" '$1 == s && $3 > 0 {
      if (($2 == "gets-curl" || $2 == "gets-xargs") && (!($3 in g) || $4 < g[$3])) g[$3] = $4
      if ($2 == "list") l[$3] = $4
    }
    END { for (r in g) if (r in l) print g[r] / (g[r] + l[r]) }' "$res" | median_x
}

rate() {  # kind amount seconds
  awk -v k="$1" -v a="$2" -v t="$3" 'BEGIN {
    if (t <= 0) { print "-"; exit }
    if (k == "bytes") printf "%.0f MB/s", a / t / 1e6
    else printf "%.0f obj/s", a / t }'
}

where_time_went() {  # set method round
  local out=$bench_base/alluvium-$1-${2#alluvium-}-$3 secs job
  secs=$(field_of_round "$1" "$2" "$3" 4)
  job=$(field_of_round "$1" "$2" "$3" 7)
  if [ -s "$out.pages" ]; then
    read -r first last npages < "$out.pages"
    awk -v f="$first" -v l="$last" -v j="$job" -v w="$secs" -v n="$npages" 'BEGIN {
      printf "      timeline from submit: first page cached at %.2f s, last at %.2f s (%d page files), job ended at %.2f s, CLI returned at %.2f s\n", f, l, n, j, w }'
  fi
  join "$out.before" "$out.after" | awk -v t="$ticks_per_s" -v w="$secs" '
    { c = ($5 - $3) / t; total += c; parts = parts sprintf("%s%s %.2f", n++ ? ", " : "", $1, c) }
    END { printf "      cluster CPU: %.2f core-s over %.2f s (%s)\n", total, w, parts }'
  awk '$2 == "alluvium_worker_load_bytes_total" { printf "%s%.0f", n++ ? "/" : "      load MB per worker: ", $3 / 1e6 } END { if (n) print "" }' "$out.metrics" 2>/dev/null || true
  [ ! -s "$out.worker-ends" ] || echo "      pages per worker: $(cat "$out.worker-ends")"
}

echo
echo "S3 load benchmark: s3rver 3.7.1 on 127.0.0.1 (one Node.js process), $par requests in flight for"
echo "the GETs and the tuned rclone, rclone's defaults (4 transfers) as users run it, $workers Alluvium workers; best of $rounds alternated rounds after a warm-up, median in [ ];"
echo "seconds are wall clock of the whole command (listing included); cpu = user+sys core-s of the"
echo "client side (curl/rclone; for Alluvium its coordinator+workers) and of s3rver, in the best round."
echo "Data under $ALLUVIUM_BENCH_DIR; $cores cores; targets: alluvium >= 1.5x rclone, >= 0.9x plain GETs."
if [ "$pin" = 1 ]; then
  echo "Pinned (BENCH_PIN=1): s3rver alone on core $server_cpus, every client on cores $client_cpus."
else
  echo "Not pinned (BENCH_PIN=0): s3rver and the clients share all $cores cores."
fi
for set in $sets; do
  if [ "$set" = big ]; then
    label="$big_count x $big_mib MiB" kind=bytes amount=$big_bytes desc="$big_bytes B / $big_count obj"
  else
    label="$small_count x $small_kib KiB" kind=objects amount=$small_count desc="$small_bytes B / $small_count obj"
  fi
  echo
  echo "== dataset $set: $label ($desc)"
  printf '   %-30s %9s %12s %11s %12s %8s %8s\n' method "best s" "best rate" "median s" "median rate" "cpu" "s3 cpu"
  methods_here=()
  has gets && methods_here+=(gets-curl gets-xargs gets-signed gets-files list)
  has rclone && methods_here+=(rclone rclone-tuned)
  if has alluvium; then for cfg in "${cfg_names[@]}"; do methods_here+=("alluvium-$cfg"); done; fi
  for m in "${methods_here[@]}"; do
    read -r mn md < <(stat_of "$set" "$m")
    br=$(best_round "$set" "$m")
    name=$m
    case $m in
      gets-curl) name="GETs: curl --parallel" ;;
      gets-xargs) name="GETs: xargs -P $par curl" ;;
      gets-signed) name="GETs: curl, SigV4-signed" ;;
      gets-files) name="(GETs to local files, ref.)" ;;
      list) name="(one listing, for reference)" ;;
      rclone) name="rclone copy (its defaults)" ;;
      rclone-tuned) name="rclone copy --transfers $par" ;;
      alluvium-*) name="alluvium job load [${m#alluvium-}]" ;;
    esac
    rk=$kind ra=$amount
    [ "$m" = list ] && rk=objects ra=$(expected_count "$set")   # keys listed per second
    printf '   %-30s %9.3f %12s %11s %12s %8s %8s\n' "$name" "$mn" "$(rate $rk "$ra" "$mn")" \
      "[$md]" "[$(rate $rk "$ra" "$md")]" "$(field_of_round "$set" "$m" "$br" 5)" "$(field_of_round "$set" "$m" "$br" 6)"
  done
  # Plain-GET baseline: the faster variant by best time.
  gbest="" gmin=1e18 gmed=""
  if has gets; then
    for m in gets-curl gets-xargs; do
      read -r mn md < <(stat_of "$set" "$m")
      if awk -v a="$mn" -v b="$gmin" 'BEGIN { exit !(a < b) }'; then gbest=$m gmin=$mn gmed=$md; fi
    done
  fi
  if has alluvium; then
    for cfg in "${cfg_names[@]}"; do
      read -r amin amed < <(stat_of "$set" "alluvium-$cfg")
      read -r jmin jmed < <(stat_of "$set" "alluvium-$cfg" 7)
      if has rclone; then
        for rm in rclone rclone-tuned; do
          read -r rmin rmed < <(stat_of "$set" "$rm")
          awk -v cfg="$cfg" -v rm="$rm" -v p="$par" -v rmin="$rmin" -v rmed="$rmed" -v amin="$amin" -v amed="$amed" \
              -v paired="$(paired_ratio "$set" "alluvium-$cfg" "$rm")" 'BEGIN {
            printf "   [%s] alluvium/%s: best %.2fx, median %.2fx, round by round %s (target >= 1.5x: %s)\n", cfg,
              (rm == "rclone" ? "rclone (defaults)" : "rclone --transfers " p), rmin / amin, rmed / amed, paired,
              (rmin / amin >= 1.5 ? "met" : "MISSED") }'
        done
      fi
      awk -v cfg="$cfg" -v gmin="$gmin" -v gmed="$gmed" -v g="$gbest" \
          -v amin="$amin" -v amed="$amed" -v jmin="$jmin" -v jmed="$jmed" 'BEGIN {
        if (g != "")
          printf "   [%s] alluvium/plain GETs (%s): best %.2fx, median %.2fx (target >= 0.9x: %s)\n", cfg, g,
            gmin / amin, gmed / amed, (gmin / amin >= 0.9 ? "met" : "MISSED")
        printf "   [%s] job time on the coordinator (mTimeElapsed, no CLI start-up): best %.3f s, median %.3f s\n", cfg, jmin, jmed
      }'
      if has gets; then
        echo "   [$cfg] ceiling if the server's CPU is the limit, for any client that lists first: $(listing_ceiling "$set") of plain GETs"
        echo "   [$cfg] round by round (median of each round's ratio): alluvium/plain GETs $(paired_ratio "$set" "alluvium-$cfg" gets-curl gets-xargs)," \
          "alluvium/signed GETs $(paired_ratio "$set" "alluvium-$cfg" gets-signed)"
      fi
    done
    for cfg in "${cfg_names[@]}"; do
      br=$(best_round "$set" "alluvium-$cfg")
      echo "   [$cfg] best round ($br):"
      where_time_went "$set" "alluvium-$cfg" "$br"
    done
  fi
  printf '   rounds (s):'
  awk -v s="$set" '$1 == s && $3 > 0 && $2 != "loadavg" { t[$2] = t[$2] " " $4 } END { for (m in t) printf "  %s:%s", m, t[m]; print "" }' "$res"
  awk -v s="$set" '$1 == s && $2 == "loadavg" { l[$3 == 0 ? 0 : 1] = $4 }
    END { printf "   1-min load average %s before, %s after (%d cores)%s\n", l[0], l[1], c,
            ((l[0] > 1.5 || l[1] > 2.5) ? ": other work was running, figures are noisy" : "") }' c="$cores" "$res"
done
if [ "${#cfg_names[@]}" -gt 1 ] || [ "$configs_spec" != "default:" ]; then
  echo
  echo "configurations:"
  for spec in "${cfg_specs[@]}"; do spec=$(echo "$spec" | xargs); [ -n "$spec" ] && echo "   $spec"; done
fi
