// Fixed-size pages of cached files on the worker's local disks, packed into region files
// (store_dir.h for the layout, region_file.h and page_record.h for the format), with eviction of
// the least recently used region under a capacity limit. Pages spread over the dirs by hashing
// the key. Safe for concurrent use by many threads: one mutex guards the in-memory index and is
// never held across disk I/O.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "pagestore/options.h"
#include "pagestore/page_key.h"
#include "pagestore/page_reader.h"
#include "pagestore/region_file.h"
#include "pagestore/region_index.h"

namespace alluvium::pagestore {

class StoreDir;

// A snapshot; counters count since Open.
struct PageStoreStats {
  uint64_t pages = 0;
  uint64_t used_bytes = 0;  // data bytes of the indexed pages (headers and padding not counted)
  uint64_t capacity_bytes = 0;
  uint64_t page_capacity_bytes = 0;  // data bytes of full pages the regions hold (<= capacity)
  uint64_t region_size = 0;
  uint64_t regions = 0;         // region files, all dirs
  uint64_t regions_in_use = 0;  // holding pages, or being filled
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t puts = 0;
  uint64_t evictions = 0;     // pages dropped to make room (not Delete, not replacement)
  uint64_t pinned_bytes = 0;  // data bytes held by pins (a page pinned by two groups: twice)
  uint64_t checksum_failures = 0;
};

// A holder of pins: a running load job keeps the pages it has cached from being evicted, by its
// own later pages or by anyone else's, until it ends (docs/page-store.md, "Pins"). Nonzero.
using PinGroup = uint64_t;
inline constexpr PinGroup kNoPin = 0;

class PageStore {
  struct PassKey {  // lets Open use make_unique while nobody else can construct
    explicit PassKey() = default;
  };

 public:
  // Validates the options (kInvalidArgument), prepares each dir (see StoreDir::Open: an in-use
  // dir is kFailedPrecondition), and re-indexes the pages already there from the region files'
  // record headers (a record torn by a crash has no header and is dropped).
  static Result<std::unique_ptr<PageStore>> Open(const PageStoreOptions& options);

  PageStore(PassKey, const PageStoreOptions& options, std::vector<std::unique_ptr<StoreDir>> dirs,
            std::vector<RegionFile> files, std::vector<uint32_t> region_dirs);
  ~PageStore();
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;

  // Stores (or replaces) a page of 1..page_size bytes (kInvalidArgument otherwise; an empty file
  // has no pages), appending it to a region of its dir; when none has room, the least recently
  // used region of the dir is evicted whole. On a full disk (ENOSPC, even under capacity) it
  // evicts regions of that disk and retries, a bounded number of times.
  // Pinned regions are never evicted: with `pin`, the page's region is pinned for that group.
  // kResourceExhausted when every region of the dir is being written, the disk stays full, or
  // what is left is pinned and some of it only by other groups (it comes free when they end);
  // kFailedPrecondition when the rest is pinned by `pin` itself: its pages fill the store. The
  // store stays usable. The page is readable once Put returns OK, and only then counted.
  Status Put(const PageKey& key, std::span<const std::byte> data, PinGroup pin = kNoPin);

  // Pins the region holding the page for `group`, as Put with a pin would; false if absent.
  bool Pin(const PageKey& key, PinGroup group);
  // Releases every pin of the group. Its pages become evictable, least recently used first.
  void Unpin(PinGroup group);
  // Data bytes of the pages the group pinned (by Put or Pin).
  uint64_t PinnedBytes(PinGroup group) const;

  // Copies page bytes [offset_in_page, offset_in_page + out.size()) into `out` and returns the
  // count: short, or 0, past the end of the page's data. Verifies the 4 KiB blocks it reads.
  // kNotFound if never written or evicted; kDataLoss if the page is damaged (it is dropped:
  // refetch it). Makes the page's region the most recently used.
  Result<size_t> Read(const PageKey& key, uint64_t offset_in_page, std::span<std::byte> out);

  // Where the page's bytes are, for a short-circuit reader (see ReadPageRange); kNotFound if
  // absent. The descriptor stays valid for the life of the store.
  // Makes the page's region the most recently used.
  Result<PageExtent> Locate(const PageKey& key);
  // All region descriptors, index = PageExtent::region; stable for the life of the store.
  std::vector<int> RegionFds() const;

  // From the index, without disk I/O and without touching recency.
  bool Contains(const PageKey& key) const;
  // Contains, and the page's record lies within its region file as the disk has it now (one
  // fstat): a file truncated behind the store's back loses the pages past its end, which are
  // dropped here so that a load writes them again. For checks that must not take the index's
  // word for it (a load's verification); reads find such damage by their checksum anyway.
  bool ContainsOnDisk(const PageKey& key);
  Result<uint64_t> PageLength(const PageKey& key) const;  // kNotFound if absent

  // Drops the page from the index (its bytes stay until the region is reused). OK if absent.
  Status Delete(const PageKey& key);

  PageStoreStats stats() const;
  uint64_t page_size() const { return options_.page_size; }

 private:
  // Index of the dir holding `key`: rendezvous hashing over the dirs' ids.
  uint32_t DirFor(const PageKey& key) const;
  void Restore(std::vector<std::vector<ScannedRegion>> scans);
  // One attempt to append the page; sets `disk_full` when it failed for lack of disk space
  // (ENOSPC), which Put answers by evicting a region of the dir and trying again, and `rewrite`
  // when it was written after another writer's failed slot and not kept, which Put answers by
  // writing it again.
  Status TryPut(uint32_t dir, const PageKey& key, std::span<const std::byte> data,
                std::span<const std::byte> checksum_table, PinGroup pin, bool& disk_full,
                bool& rewrite);
  // The error for a Put that found every region of `dir` in use. Caller holds mu_.
  Status NoRoomLocked(uint32_t dir, const PageKey& key, uint64_t length, PinGroup pin) const
      REQUIRES(mu_);
  // Where an indexed record's checksum table and data are (files_ is immutable: no lock needed).
  PageExtent ExtentOf(const RegionIndex::Location& location) const;
  void PinLocked(PinGroup group, uint32_t region, uint64_t bytes) REQUIRES(mu_);
  void CountEvictions(uint64_t pages);
  // Whether dir's disk has room for a new region's blocks with as much again left over for its
  // other users (the metadata store often shares it). Asked at most every few milliseconds.
  bool MayGrow(uint32_t dir);
  // Brings the process-wide gauges in line with this store's index. Caller holds mu_.
  void PublishLocked() REQUIRES(mu_);

  const PageStoreOptions options_;
  const uint64_t region_size_;
  const std::vector<std::unique_ptr<StoreDir>> dirs_;
  const std::vector<RegionFile> files_;  // one per region; immutable after Open

  mutable Mutex mu_;
  RegionIndex index_ GUARDED_BY(mu_);
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;        // : record sequence numbers and region epochs
  int64_t published_pages_ GUARDED_BY(mu_) = 0;  // : this store's share of the global gauges
  int64_t published_bytes_ GUARDED_BY(mu_) = 0;
  struct Pins {
    std::vector<uint32_t> regions;
    uint64_t bytes = 0;
  };
  std::unordered_map<PinGroup, Pins> pins_ GUARDED_BY(mu_);

  struct DiskRoom {
    std::atomic<int64_t> checked_ns{0};  // 0: never
    std::atomic<bool> room{true};
  };
  std::vector<DiskRoom> room_;  // per dir

  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> puts_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> checksum_failures_{0};
};

}  // namespace alluvium::pagestore
