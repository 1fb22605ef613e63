#!/usr/bin/env bash
# The main job, end to end on one machine: installs what is missing, builds, starts a local
# cluster (a coordinator and 3 workers on 127.0.0.1), writes a sample dataset into the local UFS,
# and reads it through the cache twice: the first read fetches from the UFS, the second is served
# wholly from the workers' page stores, as the read statistics and worker metrics show.
# Set ALLUVIUM_DEMO_KEEP=1 to leave the cluster running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
scripts/build.sh build

bin=$root/build/src/cli/alluvium
demo=$root/.alluvium/demo
mkdir -p "$demo/ufs/sample"
cat > "$demo/alluvium-site.properties" <<CONF
alluvium.work.dir=$demo
alluvium.ufs.root=file://$demo/ufs
alluvium.cluster.run.dir=$demo/cluster
alluvium.worker.page.store.size=2GB
CONF
alluvium() { "$bin" --config "$demo/alluvium-site.properties" "$@"; }

alluvium cluster stop >/dev/null 2>&1 || true
if [ "${ALLUVIUM_DEMO_KEEP:-0}" != 1 ]; then
  trap 'echo; echo "== stopping the cluster"; alluvium cluster stop' EXIT
fi

echo "== sample dataset in the UFS ($demo/ufs/sample)"
for i in $(seq -w 1 20); do
  printf 'record %s of the sample dataset\n' "$i" > "$demo/ufs/sample/part-$i.txt"
done
big=$demo/ufs/sample/big-1GiB.bin
[ -s "$big" ] || head -c 1073741824 /dev/urandom > "$big"

echo "== starting a local cluster"
alluvium cluster start --workers 3
alluvium cluster status

echo "== listing and reading through the cache"
alluvium fs ls /sample | head -5
alluvium fs head -c 40 /sample/part-01.txt

expected=$(sha256sum "$big" | cut -d' ' -f1)
for round in first second; do
  echo "== $round read of /sample/big-1GiB.bin"
  start=$(date +%s.%N)
  alluvium fs cp /sample/big-1GiB.bin "$demo/copy.bin"
  end=$(date +%s.%N)
  got=$(sha256sum "$demo/copy.bin" | cut -d' ' -f1)
  [ "$got" = "$expected" ] || { echo "checksum mismatch after the $round read" >&2; exit 1; }
  awk -v s="$start" -v e="$end" 'BEGIN { printf "   1 GiB in %.2f s (%.0f MiB/s), sha256 matches the UFS copy\n", e - s, 1024 / (e - s) }'
done
rm -f "$demo/copy.bin"

echo "== worker metrics: bytes served from page stores vs fetched from the UFS"
alluvium cluster metrics --filter alluvium_worker_read_
