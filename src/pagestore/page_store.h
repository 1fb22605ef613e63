// Fixed-size pages of cached files on the worker's local disks, with LRU eviction under a
// capacity limit. Each page is one file (see store_dir.h for the layout, page_file.h for the
// format); pages spread over the dirs by hashing the key. Safe for concurrent use by many
// threads: one mutex guards the in-memory index and is never held across disk I/O.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "common/status.h"
#include "pagestore/lru_index.h"
#include "pagestore/options.h"
#include "pagestore/page_key.h"

namespace alluvium::pagestore {

class StoreDir;

// A snapshot; counters count since Open.
struct PageStoreStats {
  uint64_t pages = 0;
  uint64_t used_bytes = 0;  // data bytes of the indexed pages (footers not counted)
  uint64_t capacity_bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t puts = 0;
  uint64_t evictions = 0;  // pages dropped to make room (not Delete, not replacement)
  uint64_t checksum_failures = 0;
};

class PageStore {
  struct PassKey {  // lets Open use make_unique while nobody else can construct
    explicit PassKey() = default;
  };

 public:
  // Validates the options (kInvalidArgument), prepares each dir (see StoreDir::Open: an in-use
  // dir is kFailedPrecondition), and re-indexes the pages already there, ordering them by
  // mtime, dropping damaged ones and evicting down to capacity.
  static Result<std::unique_ptr<PageStore>> Open(const PageStoreOptions& options);

  PageStore(PassKey, const PageStoreOptions& options, std::vector<std::unique_ptr<StoreDir>> dirs);
  ~PageStore();
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;

  // Stores (or replaces) a page of 1..page_size bytes (kInvalidArgument otherwise; an empty file
  // has no pages). Evicts least recently used pages until it fits. On a full disk (ENOSPC, even
  // under capacity) it evicts pages of that disk and retries until the page fits.
  // kResourceExhausted when it cannot fit because writes in progress hold the capacity, or the
  // disk stays full with none of our pages left on it to evict (or after many rounds); then no
  // file of the page is left behind and the store stays usable. The page is readable once Put
  // returns OK, and only then counted as stored.
  Status Put(const PageKey& key, std::span<const std::byte> data);

  // Copies page bytes [offset_in_page, offset_in_page + out.size()) into `out` and returns the
  // count: short, or 0, past the end of the page's data. Verifies the whole page every time.
  // kNotFound if never written or evicted; kDataLoss if the page is damaged (it is dropped:
  // refetch it). Makes the page the most recently used.
  Result<size_t> Read(const PageKey& key, uint64_t offset_in_page, std::span<std::byte> out);

  // From the index, without disk I/O and without touching recency.
  bool Contains(const PageKey& key) const;
  Result<uint64_t> PageLength(const PageKey& key) const;  // kNotFound if absent

  // Drops the page. OK if it was absent: the caller's goal, no such page, holds.
  Status Delete(const PageKey& key);

  PageStoreStats stats() const;
  uint64_t page_size() const { return options_.page_size; }

 private:
  // Index of the dir holding `key`: rendezvous hashing over the dirs' ids.
  uint32_t DirFor(const PageKey& key) const;
  void Reindex();
  // Pops least recently used pages until `bytes` more fit under capacity. Caller holds mu_.
  void EvictForLocked(uint64_t bytes, std::vector<LruIndex::Victim>& victims);
  // Pops least recently used pages of one dir until they take about `disk_bytes` of its disk,
  // or none is left there; for a Put that met a full disk. Takes mu_.
  std::vector<LruIndex::Victim> EvictFromDir(uint32_t dir, uint64_t disk_bytes);
  // Unlinks evicted pages' files; called without mu_.
  void DeleteFiles(const std::vector<LruIndex::Victim>& victims);
  // Brings the process-wide gauges in line with this store's index. Caller holds mu_.
  void PublishLocked();

  const PageStoreOptions options_;
  const std::vector<std::unique_ptr<StoreDir>> dirs_;

  mutable std::mutex mu_;
  LruIndex index_;                // guarded by mu_
  uint64_t reserved_bytes_ = 0;   // guarded by mu_: capacity held by Puts in progress
  uint64_t next_generation_ = 1;  // guarded by mu_
  int64_t published_pages_ = 0;   // guarded by mu_: this store's share of the global gauges
  int64_t published_bytes_ = 0;   // guarded by mu_

  std::atomic<uint64_t> next_temp_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> puts_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> checksum_failures_{0};
};

}  // namespace alluvium::pagestore
