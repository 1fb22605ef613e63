// Runs the worker's part of distributed load jobs: brings file segments from the UFS into the page
// store, so that later reads hit the cache, and records each file's status in the metadata store,
// so that stat and ls after a load need no UFS call. A fixed pool of threads works off one
// bounded queue of items; a batch's items run in parallel and its caller waits for all of them.
// Safe for concurrent use: many Run calls (one per Load RPC) may be in flight at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "pagestore/page_store.h"
#include "ufs/ufs.h"
#include "worker/load_pins.h"
#include "worker/rate_limiter.h"
#include "worker/ufs_registry.h"

namespace alluvium::metastore {
class MetaStore;
}  // namespace alluvium::metastore

namespace alluvium::worker {

struct LoadExecutorOptions {
  // Items loaded at once, each by one thread reading its segment page by page: the worker's
  // concurrent UFS reads for load jobs (alluvium.worker.ufs.read.threads). Enough to hide S3
  // latency; the local disk does not mind.
  int threads = 16;
  // Items waiting for a thread, over all batches. Bounds memory and how long a queued item waits;
  // a batch that does not fit gets kResourceExhausted for the rest, which the coordinator retries.
  size_t max_queued_items = 65536;
  // A job's rate limiter is dropped this long after its last request.
  std::chrono::milliseconds limiter_idle_ttl = std::chrono::minutes(5);
  // A pinning job's pins are released this long after its last request if the coordinator
  // never ends it (see LoadPins).
  std::chrono::milliseconds pin_idle_timeout = std::chrono::hours(1);

  Status Validate() const;  // kInvalidArgument unless threads >= 1 and max_queued_items >= 1
};

// One segment of one file (or a directory) to bring into the cache.
struct LoadItem {
  ufs::FileStatus status;  // as listed by the coordinator; uri + version name the pages
  uint64_t offset = 0;     // a multiple of the page size
  uint64_t length = 0;     // clipped to the file's end; 0 for directories and empty files
};

struct LoadBatch {
  std::string job_id;  // items of one job on this worker share one rate limiter
  std::vector<LoadItem> items;
  bool metadata_only = false;   // record statuses only
  bool skip_if_exists = false;  // no UFS read for items whose pages are all cached
  uint64_t bandwidth = 0;       // this worker's share of the job's UFS read limit, bytes/s; 0 none
  // Pin what the job caches here (loaded or found cached) until EndJob, so that its later pages
  // cannot evict its earlier ones; off, the job's pages are ordinary LRU pages at once.
  bool pin = false;
};

struct ItemResult {
  Status status;
  // Bytes of the segment now in the cache because of this request: read from the UFS, or found
  // already cached when skip_if_exists is off (the user asked for them loaded, and they are).
  uint64_t bytes_loaded = 0;
  // Bytes found already cached with skip_if_exists on, so not read.
  uint64_t bytes_skipped = 0;
};

class LoadExecutor {
 public:
  LoadExecutor(const LoadExecutorOptions& options, pagestore::PageStore& store, UfsRegistry& ufs,
               metastore::MetaStore& meta);
  ~LoadExecutor() { Stop(); }
  LoadExecutor(const LoadExecutor&) = delete;
  LoadExecutor& operator=(const LoadExecutor&) = delete;

  // Starts the pool. Call once; Run before Start (or after Stop) cancels every item.
  void Start();
  // Idempotent: refuses new batches, cancels items in progress (they end at the next page),
  // joins the pool, and completes still-queued items as kCancelled, so every Run returns.
  void Stop();

  // Loads the batch's items on the pool and returns one result per item, in order. Per item:
  //   - OK, with the byte counts;
  //   - kCancelled if `stop` was requested, `cancelled` returned true (polled about every 100 ms
  //     while waiting, e.g. "the RPC went away") or the executor stopped;
  //   - kResourceExhausted if the queue had no room for it, or the page store has no room now
  //     (its disk is full of other data, or of pages other pinning jobs hold): retry later;
  //   - kFailedPrecondition if the page store can never hold it for this job: the segment is
  //     larger than the store, or the store is full of the job's own pinned pages;
  //   - kAborted if the UFS file is not what `status` says (it changed since the listing);
  //   - kInvalidArgument for an offset that is not page-aligned;
  //   - a UFS error (kNotFound for a missing file) as the UFS reports it.
  // Never blocks on a full queue.
  std::vector<ItemResult> Run(const LoadBatch& batch, std::stop_token stop,
                              const std::function<bool()>& cancelled = nullptr);

  // Bytes of each item's segment whose pages are in the page store (directories and empty
  // segments: 0, which is all of them), checked against the region files' sizes (an fstat per
  // page, no data read: PageStore::ContainsOnDisk).
  std::vector<uint64_t> CachedBytes(const std::vector<LoadItem>& items);

  // The job has ended: releases its pins. Returns the bytes they held.
  uint64_t EndJob(const std::string& job_id) { return pins_.Release(job_id); }

 private:
  struct Batch;
  struct Task {
    Batch* batch;
    size_t index;
  };

  void Work(std::stop_token stop);
  void Finish(const Task& task, ItemResult result);
  ItemResult LoadOne(const Batch& batch, const LoadItem& item, std::vector<std::byte>& buffer);
  // Reads the pages of [offset, end) that are not cached and Puts them. Adds to `result`.
  Status LoadPages(const Batch& batch, const LoadItem& item, std::vector<std::byte>& buffer,
                   ItemResult& result);

  const LoadExecutorOptions options_;
  pagestore::PageStore& store_;
  UfsRegistry& ufs_;
  metastore::MetaStore& meta_;
  const uint64_t page_size_;
  const uint64_t capacity_bytes_;  // of full pages (PageStoreStats::page_capacity_bytes)
  RateLimiterRegistry limiters_;
  LoadPins pins_;
  std::stop_source stopping_;  // requested by Stop: cancels every batch in progress

  Mutex stop_mu_;  // serialises Start and Stop
  Mutex mu_;
  std::condition_variable_any ready_;
  bool accepting_ GUARDED_BY(mu_) = false;
  std::deque<Task> queue_ GUARDED_BY(mu_);
  std::vector<std::jthread> threads_;  // last: joined before the members they use die
};

}  // namespace alluvium::worker
