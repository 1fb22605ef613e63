// The page store's in-memory state: where each page is, and the regions that hold them, with
// what allocation and eviction need. Eviction is by region, least recently used first: a read of
// any page of a region makes the region the most recently used of its dir, and making room drops
// a whole region (all its pages) at once, the way CacheLib's navy BlockCache reclaims regions.
// Not thread-safe: PageStore guards it with its mutex and does no I/O while holding it.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pagestore/page_key.h"

namespace alluvium::pagestore {

class RegionIndex {
 public:
  struct Location {
    uint32_t region = 0;
    uint64_t offset = 0;  // of the record header in the region file
    uint64_t length = 0;  // bytes of data
    uint64_t checksum = 0;
    uint64_t epoch = 0;  // the region's epoch the record was written in

    friend bool operator==(const Location&, const Location&) = default;
  };

  struct Allocation {
    uint32_t region = 0;
    uint64_t offset = 0;
    uint64_t epoch = 0;
    bool new_epoch = false;  // the caller writes the region header first, then FinishNewEpoch
  };

  // `region_dirs[r]` is the dir of region r; every region starts free.
  RegionIndex(std::vector<uint32_t> region_dirs, uint64_t region_size);

  // --- Rebuilding after a restart: regions first, then their records, then Finish.
  void RestoreRegion(uint32_t region, uint64_t epoch, uint64_t end, uint64_t newest_seq);
  // Keeps the record unless a newer one (higher seq) of the same key is already restored.
  void RestoreRecord(const PageKey& key, const Location& location, uint64_t seq);
  // Orders each dir's regions by their newest record, oldest first.
  void FinishRestore();

  const Location* Find(const PageKey& key) const;
  // Makes the region the most recently used of its dir.
  void Touch(uint32_t region);

  // Room for a record of `span` bytes in `dir`: in a region being appended to, else (when
  // `may_grow`: the disk has room for a new region's blocks) in a free region, else in the least
  // recently used region nobody is writing, whose pages are dropped (counted in
  // `evicted_pages`) and whose blocks the new records reuse. A region taken anew gets `epoch`.
  // nullopt when no region can be had. The caller writes the record and then calls FinishWrite.
  std::optional<Allocation> Allocate(uint32_t dir, uint64_t span, uint64_t epoch,
                                     uint64_t& evicted_pages, bool may_grow);
  // After the region header of a new epoch is written (ok), or failed to be: then the region is
  // free again and the caller's write is over (no FinishWrite).
  void FinishNewEpoch(uint32_t region, bool ok);
  void FinishWrite(uint32_t region);
  // No more appends to the region (its disk ran out of space at the end of it).
  void Seal(uint32_t region);
  // A record write at `offset` of the region failed and left a hole, where a restart's scan
  // stops. So that the index holds what a restart would find, records of the region already
  // indexed beyond the hole are dropped (cache misses now rather than after a restart), and
  // records finished after it are kept out (BeyondHole) and written elsewhere. The caller seals
  // the region too.
  void MarkHole(uint32_t region, uint64_t offset);
  // Whether a record at `offset` lies after a hole of the region's current epoch.
  bool BeyondHole(uint32_t region, uint64_t offset) const;
  // Drops the least recently used region of `dir` that nobody is writing, to give its disk
  // space back after the disk ran full: the caller empties its file, then calls FinishRelease,
  // which makes it free. nullopt when there is none.
  struct Released {
    uint32_t region = 0;
    uint64_t pages = 0;  // dropped from the index
  };
  std::optional<Released> EvictOne(uint32_t dir);
  void FinishRelease(uint32_t region);

  // --- Pins: a pinned region is never evicted (see PageStore::Put). `group` is nonzero.
  // Whether the region was not already pinned by `group`.
  bool Pin(uint32_t region, uint64_t group);
  void Unpin(uint32_t region, uint64_t group);
  // Why Allocate found nothing to evict in `dir`: every region there is being written, or what
  // is left is pinned, with at least one region that only other groups pin (it comes free when
  // they end), or with none (only `group`'s own end would free one).
  enum class Shortage { kBusy, kPinnedByOthers, kPinnedByCaller };
  Shortage WhyFull(uint32_t dir, uint64_t group) const;

  // Adds or replaces the page.
  void Insert(const PageKey& key, const Location& location);
  // Removes the page if it is still at `location`.
  bool RemoveIf(const PageKey& key, const Location& location);
  std::optional<Location> Remove(const PageKey& key);
  // Whether the region still holds the epoch `epoch` (a reader that failed verification asks
  // this to tell an eviction race from damage).
  bool RegionAtEpoch(uint32_t region, uint64_t epoch) const;

  uint64_t pages() const { return by_key_.size(); }
  uint64_t bytes() const { return bytes_; }
  uint32_t regions() const { return static_cast<uint32_t>(regions_.size()); }
  uint32_t regions_in_use() const;

 private:
  enum class State { kFree, kOpening, kOpen, kSealed, kReleasing };
  struct Region {
    uint32_t dir = 0;
    State state = State::kFree;
    uint64_t epoch = 0;
    uint64_t end = 0;  // next append offset
    uint32_t writers = 0;
    uint64_t newest_seq = 0;            // only for ordering at restore
    std::vector<PageKey> keys;          // pages written in this epoch (some may since be elsewhere)
    std::vector<uint64_t> pinned_by;    // pin groups; a handful at most (running loads)
    uint64_t hole = UINT64_MAX;         // offset of the first failed record write this epoch
    std::list<uint32_t>::iterator lru;  // valid unless free
  };

  // Sealed, not being written, not pinned: the only kind of region eviction may take.
  bool Evictable(const Region& r) const {
    return r.state == State::kSealed && r.writers == 0 && r.pinned_by.empty();
  }
  using KeyIterator = std::unordered_map<PageKey, Location, PageKeyHash>::iterator;
  // The index entry of `key` if it is a record of the region's current epoch, else the end: a
  // key written again since lives in another region (or is gone), and is not this region's.
  KeyIterator RecordIn(uint32_t region, const PageKey& key);
  void DropPages(uint32_t region, uint64_t& dropped);
  void Erase(KeyIterator it);

  const uint64_t region_size_;
  std::vector<Region> regions_;
  std::vector<std::list<uint32_t>> lru_;     // per dir: front is least recently used
  std::vector<std::vector<uint32_t>> open_;  // per dir: regions taking appends
  std::vector<std::vector<uint32_t>> free_;  // per dir
  std::unordered_map<PageKey, Location, PageKeyHash> by_key_;
  std::unordered_map<PageKey, uint64_t, PageKeyHash> restore_seq_;  // until FinishRestore
  uint64_t bytes_ = 0;
};

}  // namespace alluvium::pagestore
