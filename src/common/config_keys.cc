#include "common/config_keys.h"

#include <cctype>
#include <string>

namespace alluvium {
namespace keys {

// clang-format off
const KeyInfo kWorkDir{"alluvium.work.dir", KeyType::kString, "~/.alluvium",
    "Base directory for coordinator and worker state when their own dirs are not set."};
const KeyInfo kLogLevel{"alluvium.log.level", KeyType::kString, "info",
    "trace, debug, info, warn, error or off. Debug logs show where each page came from."};
const KeyInfo kUfsRoot{"alluvium.ufs.root", KeyType::kString, "~/.alluvium/underFSStorage",
    "UFS URI mounted at '/' when the coordinator starts with no root mount."};
const KeyInfo kMounts{"alluvium.mounts", KeyType::kString, "",
    "Extra mounts made at coordinator start: comma-separated /cache/path=ufs-uri pairs."};

const KeyInfo kCoordinatorHostname{"alluvium.coordinator.hostname", KeyType::kString, "127.0.0.1",
    "Host clients and workers use to reach the coordinator."};
const KeyInfo kCoordinatorBindHost{"alluvium.coordinator.bind.host", KeyType::kString, "127.0.0.1",
    "Address the coordinator listens on (0.0.0.0 for every interface)."};
const KeyInfo kCoordinatorRpcPort{"alluvium.coordinator.rpc.port", KeyType::kInt, "19998",
    "gRPC port for workers and clients; 0 picks a free port (written to the data dir)."};
const KeyInfo kCoordinatorWebPort{"alluvium.coordinator.web.port", KeyType::kInt, "19999",
    "REST API port (job load, list_job, metrics); 0 picks a free port."};
const KeyInfo kCoordinatorDataDir{"alluvium.coordinator.data.dir", KeyType::kString, "",
    "Coordinator state (mount table, jobs). Empty: <alluvium.work.dir>/coordinator."};
const KeyInfo kCoordinatorWorkerTimeout{"alluvium.coordinator.worker.timeout", KeyType::kDuration,
    "10s", "A worker silent this long is marked lost and leaves the hash ring."};

const KeyInfo kWorkerHostname{"alluvium.worker.hostname", KeyType::kString, "127.0.0.1",
    "Host the worker advertises to clients."};
const KeyInfo kWorkerBindHost{"alluvium.worker.bind.host", KeyType::kString, "127.0.0.1",
    "Address the worker listens on (0.0.0.0 for every interface)."};
const KeyInfo kWorkerRpcPort{"alluvium.worker.rpc.port", KeyType::kInt, "29999",
    "Worker gRPC port; 0 picks a free port (written to the data dir)."};
const KeyInfo kWorkerDataDir{"alluvium.worker.data.dir", KeyType::kString, "",
    "Worker state (identity, metadata store). Empty: <alluvium.work.dir>/worker."};
const KeyInfo kWorkerShortCircuitSocket{"alluvium.worker.short.circuit.socket", KeyType::kString,
    "", "Unix socket on which the worker serves short-circuit reads to clients on its host. Empty: "
    "<worker data dir>/short-circuit.sock; \"none\" turns the service off."};
const KeyInfo kWorkerHeartbeatInterval{"alluvium.worker.heartbeat.interval", KeyType::kDuration,
    "1s", "How often a worker tells the coordinator it is alive."};
const KeyInfo kWorkerPageStoreDirs{"alluvium.worker.page.store.dirs", KeyType::kString, "",
    "Cache directories, comma separated, one per disk. Empty: <worker data dir>/pages."};
const KeyInfo kWorkerPageStoreRegionSize{"alluvium.worker.page.store.region.size", KeyType::kSize,
    "0", "Pages are packed into region files of this size, the unit of LRU eviction. 0: 1/64 of "
    "the store's size, between one page and 64MB."};
const KeyInfo kWorkerPageStoreSize{"alluvium.worker.page.store.size", KeyType::kSize, "4GB",
    "Bytes of disk the page store uses across the cache directories (at least one region per "
    "directory); eviction of the least recently used region beyond it."};
const KeyInfo kWorkerPageSize{"alluvium.worker.page.store.page.size", KeyType::kSize, "1MB",
    "Unit of caching: power of two from 4KB to 64MB."};
const KeyInfo kWorkerUfsReadThreads{"alluvium.worker.ufs.read.threads", KeyType::kInt, "16",
    "Concurrent UFS reads per worker."};

const KeyInfo kUnderfsS3Endpoint{"alluvium.underfs.s3.endpoint", KeyType::kString, "",
    "S3 service URL, http(s)://host[:port]. Empty: $AWS_ENDPOINT_URL_S3, else AWS's "
    "https://s3.<region>.amazonaws.com. A mount's options may override any underfs key."};
const KeyInfo kUnderfsS3Region{"alluvium.underfs.s3.region", KeyType::kString, "",
    "Region requests are signed for. Empty: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1."};
const KeyInfo kUnderfsS3AccessKey{"alluvium.underfs.s3.access.key", KeyType::kString, "",
    "Access key id (mount option alias s3a.accessKeyId). Empty: $AWS_ACCESS_KEY_ID; if that "
    "is unset too, requests go unsigned (public buckets)."};
const KeyInfo kUnderfsS3SecretKey{"alluvium.underfs.s3.secret.key", KeyType::kString, "",
    "Secret access key (alias s3a.secretKey). Empty: $AWS_SECRET_ACCESS_KEY. Never printed."};
const KeyInfo kUnderfsS3SessionToken{"alluvium.underfs.s3.session.token", KeyType::kString, "",
    "Session token of temporary credentials. Empty: $AWS_SESSION_TOKEN. Never printed."};
const KeyInfo kUnderfsS3PathStyle{"alluvium.underfs.s3.path.style", KeyType::kString, "auto",
    "true: endpoint/bucket/key; false: bucket.endpoint/key; auto: path style for an IP or "
    "localhost endpoint and for bucket names that cannot be host names."};
const KeyInfo kUnderfsS3CaBundle{"alluvium.underfs.s3.ca.bundle", KeyType::kString, "",
    "PEM file of the certificate authorities trusted for an https endpoint (a private CA). "
    "Empty: $AWS_CA_BUNDLE, else the system's."};
const KeyInfo kUnderfsS3RequestTimeout{"alluvium.underfs.s3.request.timeout", KeyType::kDuration,
    "60s", "Deadline of one S3 request, body included; a stalled request is retried."};
const KeyInfo kUnderfsS3ConnectTimeout{"alluvium.underfs.s3.connect.timeout", KeyType::kDuration,
    "10s", "Deadline of opening one connection to S3."};
const KeyInfo kUnderfsS3MaxAttempts{"alluvium.underfs.s3.retry.max.attempts", KeyType::kInt, "6",
    "Tries per S3 request on 5xx, 429, SlowDown, timeouts and resets (never on 403/404)."};
const KeyInfo kUnderfsS3RetryBaseDelay{"alluvium.underfs.s3.retry.base.delay", KeyType::kDuration,
    "100ms", "First retry waits up to this; each further one up to twice as long (full jitter)."};
const KeyInfo kUnderfsS3RetryMaxDelay{"alluvium.underfs.s3.retry.max.delay", KeyType::kDuration,
    "5s", "Longest wait between two tries of an S3 request."};
const KeyInfo kUnderfsS3ListPageSize{"alluvium.underfs.s3.list.page.size", KeyType::kInt, "1000",
    "Keys per ListObjectsV2 request (1 to 1000)."};
const KeyInfo kUnderfsS3ReadBlockSize{"alluvium.underfs.s3.read.block.size", KeyType::kSize, "8MB",
    "Bytes per ranged GET when a load reads an object sequentially without read-ahead (with it, "
    "the unit handed from the stream to the page store, at most 4 MB)."};
const KeyInfo kUnderfsS3ReadAhead{"alluvium.underfs.s3.read.ahead", KeyType::kBool, "true",
    "A load reads each segment with one GET that streams on while pages are stored (up to 3 "
    "blocks of at most 4 MB in memory per segment); false: one ranged GET per block."};

const KeyInfo kUserSegmentSize{"alluvium.user.file.segment.size", KeyType::kSize, "64MB",
    "Files are split into segments of this size; each segment has its own worker on the ring."};
const KeyInfo kUserSelectionPolicy{"alluvium.user.worker.selection.policy", KeyType::kString,
    "ketama", "Consistent hashing policy: ketama, jump or maglev (see docs/hashing.md)."};
const KeyInfo kUserVirtualNodes{"alluvium.user.consistent.hash.virtual.node.count.per.worker",
    KeyType::kInt, "0", "Virtual nodes per worker for ketama; 0 uses the built-in default."};
const KeyInfo kUserMetadataCacheMaxSize{"alluvium.user.metadata.cache.max.size", KeyType::kInt,
    "100000", "File statuses a client keeps (from stats and listings) as the cache filter's "
    "metadata rules allow, so reading a known file or listing a known directory asks no "
    "worker. 0 keeps none."};
const KeyInfo kUserMetadataCacheExpiration{"alluvium.user.metadata.cache.expiration.time",
    KeyType::kDuration, "10min", "A client trusts a status it has seen at most this long, even "
    "under an immutable rule, so it sees what a load job refreshed on the workers."};
const KeyInfo kUserShortCircuitEnabled{"alluvium.user.short.circuit.enabled", KeyType::kBool,
    "true", "Read cached pages of workers on the client's own host straight from their page "
    "store files (descriptors passed over a Unix socket), not through gRPC."};
const KeyInfo kUserReadAheadWindow{"alluvium.user.read.ahead.window", KeyType::kSize, "0",
    "Read-ahead of remote (gRPC) reads: the streams of the next window / part size - 1 parts are "
    "opened while the current part is read, each buffering up to 8MB. Below two parts, off: one "
    "RPC per segment at a time. Off by default: with workers sharing the client's cores it cost "
    "CPU and speed (docs/performance.md); for workers on other hosts. A read of one part or less "
    "fetches only its range either way."};
const KeyInfo kUserReadAheadPartSize{"alluvium.user.read.ahead.part.size", KeyType::kSize, "8MB",
    "Bytes per streaming RPC of a read-ahead remote read (parts never cross a segment), 64KB to "
    "1GB."};
const KeyInfo kUserMallocTrimThreshold{"alluvium.user.malloc.trim.threshold", KeyType::kSize,
    "128MB",
    "Freed heap memory glibc malloc keeps instead of returning it to the kernel, set for the whole "
    "process by its first client: a remote reader's received messages then reuse warm pages "
    "rather than fault in fresh ones (glibc's default, 128KB, cost about half a reader's CPU). "
    "Also sets the mmap threshold to 32MB. 0 leaves malloc alone."};
const KeyInfo kUserReadWorkersTried{"alluvium.user.read.workers.tried", KeyType::kInt, "3",
    "How many workers of a segment's preference list a read tries before failing."};
const KeyInfo kUserRpcTimeout{"alluvium.user.rpc.timeout", KeyType::kDuration, "60s",
    "Deadline of one RPC from a client."};
const KeyInfo kUserCacheFilterConfigFile{"alluvium.user.client.cache.filter.config.file",
    KeyType::kString, "",
    "Cache filter rules (Alluxio's JSON format, see docs/metadata.md), read by the workers: which "
    "UFS URIs have immutable, maxAge or skipCache metadata and data. Empty: everything is "
    "immutable once cached (a load job refreshes what it lists)."};
const KeyInfo kUserCacheFilterConfigCheckInterval{
    "alluvium.user.client.cache.filter.config.check.interval", KeyType::kDuration, "1min",
    "How often a worker re-reads the cache filter file; a bad file then keeps the last good rules."};

const KeyInfo kSecurityTlsEnabled{"alluvium.security.tls.enabled", KeyType::kBool, "false",
    "TLS on every gRPC and REST connection of the cluster (servers and clients alike)."};
const KeyInfo kSecurityTlsCertFile{"alluvium.security.tls.cert.file", KeyType::kString, "",
    "PEM certificate (chain) this process presents: servers always, clients under mutual TLS."};
const KeyInfo kSecurityTlsKeyFile{"alluvium.security.tls.key.file", KeyType::kString, "",
    "PEM private key of alluvium.security.tls.cert.file."};
const KeyInfo kSecurityTlsCaFile{"alluvium.security.tls.ca.file", KeyType::kString, "",
    "PEM CA bundle the peers' certificates must chain to. Empty: the system's trust store "
    "(clients only; servers need one for mutual TLS)."};
const KeyInfo kSecurityTlsClientAuth{"alluvium.security.tls.client.auth", KeyType::kBool,
    "false", "Mutual TLS: servers refuse clients without a certificate signed by the CA."};
const KeyInfo kSecurityTokenFile{"alluvium.security.token.file", KeyType::kString, "",
    "File holding the cluster token. Set: workers, clients and REST callers must present it "
    "(gRPC metadata x-alluvium-token, HTTP 'Authorization: Bearer'), or get UNAUTHENTICATED / "
    "401 with nothing done."};

const KeyInfo kJobRetentionTime{"alluvium.job.retention.time", KeyType::kDuration, "7d",
    "Finished and stopped jobs are forgotten this long after they end."};
const KeyInfo kJobMaxActive{"alluvium.job.max.active", KeyType::kInt, "100",
    "Running jobs at most; more submits are refused with 'too many jobs'."};
const KeyInfo kJobLoadMaxAttempts{"alluvium.job.load.max.attempts", KeyType::kInt, "4",
    "Attempts per file segment (on the next workers of the ring) before the file fails."};
const KeyInfo kJobLoadFailureRatio{"alluvium.job.load.failure.ratio.threshold", KeyType::kDouble,
    "0", "A load job ends FAILED when failed files / scanned files is above this (0: any)."};
const KeyInfo kJobLoadNoWorkerTimeout{"alluvium.job.load.no.worker.timeout", KeyType::kDuration,
    "5min", "A load job with no live worker to load on for this long ends FAILED."};
const KeyInfo kJobLoadNoSpaceTimeout{"alluvium.job.load.no.space.timeout", KeyType::kDuration,
    "10min", "A worker whose disk has no room for a load job's pages (RESOURCE_EXHAUSTED: another "
    "program filled it, or other running jobs' pinned pages) is retried, with back-off, this long "
    "before the files waiting on it fail. The job's progress shows the wait."};
const KeyInfo kJobLoadListingAhead{"alluvium.job.load.listing.ahead", KeyType::kInt, "100000",
    "Listed files a load job holds ahead of its workers (~250 bytes each). A listing that fits is "
    "read once and sizes the job; past it, the rest is listed once more to count it."};
const KeyInfo kJobLoadInflightPerWorker{"alluvium.job.load.inflight.per.worker", KeyType::kInt,
    "4", "Concurrent load RPCs per worker and job."};

const KeyInfo kClusterWorkers{"alluvium.cluster.workers", KeyType::kInt, "3",
    "Workers started by `alluvium cluster start`."};
const KeyInfo kClusterId{"alluvium.cluster.id", KeyType::kString, "",
    "The cluster's identity. Empty: the coordinator makes one at its first start and keeps it; "
    "a worker keeps the id of the first cluster it joins. Set: a coordinator whose data dir "
    "holds another refuses to start, and workers and clients refuse another cluster's "
    "coordinator. `alluvium cluster start` sets one per run dir."};
const KeyInfo kClusterRunDir{"alluvium.cluster.run.dir", KeyType::kString, "~/.alluvium/cluster",
    "Where `alluvium cluster` keeps PIDs, logs and process state."};
// clang-format on

}  // namespace keys

std::span<const KeyInfo* const> AllKeys() {
  using namespace keys;
  static const KeyInfo* const kAll[] = {
      &kWorkDir,
      &kLogLevel,
      &kUfsRoot,
      &kMounts,
      &kCoordinatorHostname,
      &kCoordinatorBindHost,
      &kCoordinatorRpcPort,
      &kCoordinatorWebPort,
      &kCoordinatorDataDir,
      &kCoordinatorWorkerTimeout,
      &kWorkerHostname,
      &kWorkerBindHost,
      &kWorkerRpcPort,
      &kWorkerDataDir,
      &kWorkerHeartbeatInterval,
      &kWorkerShortCircuitSocket,
      &kWorkerPageStoreDirs,
      &kWorkerPageStoreRegionSize,
      &kWorkerPageStoreSize,
      &kWorkerPageSize,
      &kWorkerUfsReadThreads,
      &kUnderfsS3Endpoint,
      &kUnderfsS3Region,
      &kUnderfsS3AccessKey,
      &kUnderfsS3SecretKey,
      &kUnderfsS3SessionToken,
      &kUnderfsS3PathStyle,
      &kUnderfsS3CaBundle,
      &kUnderfsS3RequestTimeout,
      &kUnderfsS3ConnectTimeout,
      &kUnderfsS3MaxAttempts,
      &kUnderfsS3RetryBaseDelay,
      &kUnderfsS3RetryMaxDelay,
      &kUnderfsS3ListPageSize,
      &kUnderfsS3ReadBlockSize,
      &kUnderfsS3ReadAhead,
      &kUserSegmentSize,
      &kUserSelectionPolicy,
      &kUserVirtualNodes,
      &kUserReadWorkersTried,
      &kUserShortCircuitEnabled,
      &kUserMetadataCacheMaxSize,
      &kUserMetadataCacheExpiration,
      &kUserReadAheadWindow,
      &kUserReadAheadPartSize,
      &kUserMallocTrimThreshold,
      &kUserRpcTimeout,
      &kUserCacheFilterConfigFile,
      &kUserCacheFilterConfigCheckInterval,
      &kJobRetentionTime,
      &kJobMaxActive,
      &kJobLoadMaxAttempts,
      &kJobLoadNoWorkerTimeout,
      &kJobLoadNoSpaceTimeout,
      &kJobLoadFailureRatio,
      &kJobLoadInflightPerWorker,
      &kJobLoadListingAhead,
      &kClusterWorkers,
      &kClusterRunDir,
      &kClusterId,
      &kSecurityTlsEnabled,
      &kSecurityTlsCertFile,
      &kSecurityTlsKeyFile,
      &kSecurityTlsCaFile,
      &kSecurityTlsClientAuth,
      &kSecurityTokenFile,
  };
  return kAll;
}

std::string EnvNameOf(std::string_view key) {
  std::string out;
  for (char c : key) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace alluvium
