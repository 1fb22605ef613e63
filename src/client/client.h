// The Alluvium client: reads files through the cache cluster. It asks the coordinator for the
// cluster (live workers, hash ring settings, mount table), maps each (file, segment) to its
// workers with the same consistent-hash ring the coordinator uses for loads, and streams data
// from the owner, falling back to the next worker of the ring when one fails mid-read. Cached
// pages of a worker on the client's own host are read straight from its page store files
// (short-circuit, see short_circuit.h), the rest through gRPC.
// Public header: no gRPC types. A Client is safe for concurrent use.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/cache_filter.h"
#include "common/config.h"
#include "common/security.h"
#include "common/status.h"

namespace alluvium::client {

struct ClientOptions {
  std::string coordinator_address = "127.0.0.1:19998";
  std::chrono::milliseconds rpc_timeout{60000};
  int workers_tried = 3;  // per segment, in ring preference order
  // Membership is re-read at most this often, and at once after a worker fails.
  std::chrono::milliseconds cluster_info_ttl{2000};
  // Read cached pages of workers on this host straight from their page store files.
  bool short_circuit = true;
  // The cache filter rules (alluvium.user.client.cache.filter.config.*): how long the statuses
  // the client has seen are trusted, up to metadata_cache_entries of them.
  CacheFilterOptions cache_filter;
  size_t metadata_cache_entries = 100000;
  std::chrono::milliseconds metadata_cache_expiration = std::chrono::minutes(10);
  // Read-ahead of reads through gRPC: a read is cut into parts of read_ahead_part_size (never
  // across a segment), one streaming RPC each, and the streams of the next
  // read_ahead_window / read_ahead_part_size - 1 parts are opened while the current one is read
  // (each buffers up to its 8 MiB stream window). Below two parts, no read-ahead: one RPC per
  // segment, one at a time. Off by default: measured on a 2-core host whose workers share the
  // client's cores (docs/performance.md), every extra stream cost CPU on both ends and made a
  // sequential read slower; it is for clients whose workers run on other hosts.
  uint64_t read_ahead_part_size = 8 << 20;
  uint64_t read_ahead_window = 0;
  // Freed heap memory malloc keeps rather than returning to the kernel, set process-wide by the
  // first client (client/malloc_tuning.h): received messages then reuse warm pages instead of
  // faulting in fresh ones. 0 leaves malloc alone.
  uint64_t malloc_trim_threshold = 128 << 20;
  SecuritySettings security;  // TLS and the cluster token of every channel
  // Non-empty: the coordinator must be of this cluster (alluvium.cluster.id), or Connect and
  // every later refresh of the cluster view fail, naming both.
  std::string cluster_id;

  // kInvalidArgument when the security files cannot be read (see SecuritySettings).
  static Result<ClientOptions> FromConfig(const Config& config);
  // kInvalidArgument for settings a client cannot run with.
  Status Validate() const;
};

struct FileInfo {
  std::string path;  // cache path
  std::string uri;   // UFS URI
  bool is_directory = false;
  uint64_t length = 0;
  int64_t mtime_ms = 0;
  std::string version;
};

struct WorkerInfo {
  std::string id;
  std::string address;
  bool live = false;
  int64_t last_heartbeat_ms = 0;
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t pages = 0;
};

struct MountInfo {
  std::string path;
  std::string ufs_uri;
  // The options given at mount, secret values as "******" (common/secrets.h): a client sees
  // which credentials are set, never their values, which stay on the servers.
  std::map<std::string, std::string> options;
};

// Where one segment of a file is cached (Client::Locate).
struct SegmentLocation {
  uint64_t index = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  struct Holder {
    std::string worker_id;
    std::string address;
    uint64_t cached_bytes = 0;
    int owner_rank = -1;  // 0: the ring's owner, 1: its first replica, ...; -1: not an owner
  };
  // The ring's owners (as many as asked), then any other worker holding some of it.
  std::vector<Holder> holders;
};

struct ReadStats {
  uint64_t bytes = 0;
  uint64_t bytes_from_cache = 0;     // served from worker page stores
  uint64_t bytes_short_circuit = 0;  // of those, read by this client from the files itself
  uint64_t bytes_from_ufs = 0;       // fetched from the UFS by this read
  uint64_t worker_failovers = 0;     // times a segment moved to the next worker of the ring
};

class Client {
 public:
  // Fails with kUnavailable if the coordinator cannot be reached, kInvalidArgument if the cache
  // filter rules file cannot be used.
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  // Connect with ClientOptions::FromConfig(config).
  static Result<std::unique_ptr<Client>> Connect(const Config& config);
  ~Client();

  // `path` is a cache path ("/data/x") or a UFS URI under a mount ("file:///srv/x").
  // kNotFound for a missing file; kNotFound "outside every mount" for an unmounted path.
  Result<FileInfo> GetStatus(std::string_view path);

  // Calls visit for each entry below the directory (recursively if asked), streamed. A listing
  // that is not recursive is kept as the cache filter's metadata rules allow (MetadataCache):
  // listing the directory again asks no worker until DropMetadataCache.
  Status List(std::string_view path, bool recursive,
              const std::function<Status(const FileInfo&)>& visit);

  using Sink = std::function<Status(std::span<const std::byte> data)>;
  // Streams [offset, offset + length) to sink in order; stops early at end of file (a read past
  // EOF delivers fewer bytes, or none, and is not an error). UINT64_MAX reads to the end.
  Result<ReadStats> Read(std::string_view path, uint64_t offset, uint64_t length, const Sink& sink);
  // The same into `out` (up to out.size() bytes; stats.bytes says how many): pages read on this
  // host (short-circuit) land in `out` directly instead of passing through a buffer.
  Result<ReadStats> ReadInto(std::string_view path, uint64_t offset, std::span<std::byte> out);
  // Reads into `out` only what the workers of this host hold (short-circuit, verified), asking
  // no worker to fetch anything: for prefetches that must cost nothing where the data is not
  // cached here. Returns the bytes read from `offset` on: fewer than out.size() when a page is
  // not cached here, the read is not short-circuit, or the file ends.
  Result<size_t> ReadCachedHere(std::string_view path, uint64_t offset, std::span<std::byte> out);

  // The cache filter rules for a UFS URI (FileInfo::uri): how long its status (metadata) and its
  // pages (data) may be trusted, for callers that cache them too (the FUSE mount's kernel caches).
  CacheRule MetadataRule(std::string_view uri);
  CacheRule DataRule(std::string_view uri);
  // Forgets every file status this client remembers (ClientOptions::cache_filter), so the next
  // stat of each asks a worker: the way out when the UFS changed under an immutable rule.
  void DropMetadataCache();

  Status Mount(std::string_view path, std::string_view ufs_uri,
               const std::map<std::string, std::string>& options = {});
  Status Unmount(std::string_view path);
  Result<std::vector<MountInfo>> ListMounts();
  Result<std::vector<WorkerInfo>> ListWorkers();
  // Where the file's data is: for each segment, its first `owners` workers in ring order and
  // any other worker holding some of it, with how many of its bytes each holds now (one
  // CheckCached call per live worker). kUnavailable if a live worker cannot say.
  Result<std::vector<SegmentLocation>> Locate(std::string_view path, size_t owners = 1);
  // A worker's metrics in Prometheus text format.
  Result<std::string> WorkerMetrics(std::string_view worker_address);

  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);

 private:
  // Read and ReadInto: `in_place`, if given, is where byte `offset` belongs.
  Result<ReadStats> ReadTo(std::string_view path, uint64_t offset, uint64_t length,
                           const Sink& sink, std::byte* in_place);

  std::unique_ptr<Impl> impl_;
};

}  // namespace alluvium::client
