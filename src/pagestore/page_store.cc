#include "pagestore/page_store.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include <xxhash.h>

#include "common/logging.h"
#include "common/metrics.h"
#include "pagestore/page_record.h"
#include "pagestore/store_dir.h"

namespace alluvium::pagestore {
namespace {

// Process-wide: several stores (tests) add their shares; per-store numbers are in stats().
struct Metrics {
  metrics::Gauge& pages =
      metrics::NewGauge("alluvium_worker_page_store_pages", "Pages in the worker's page store.");
  metrics::Gauge& used_bytes = metrics::NewGauge("alluvium_worker_page_store_used_bytes",
                                                 "Bytes of page data in the page store.");
  metrics::Gauge& capacity_bytes = metrics::NewGauge("alluvium_worker_page_store_capacity_bytes",
                                                     "Capacity of the page store in bytes.");
  metrics::Counter& hits =
      metrics::NewCounter("alluvium_worker_page_store_hits_total", "Page reads served.");
  metrics::Counter& misses =
      metrics::NewCounter("alluvium_worker_page_store_misses_total", "Page reads of absent pages.");
  metrics::Counter& puts =
      metrics::NewCounter("alluvium_worker_page_store_puts_total", "Pages written.");
  metrics::Counter& evictions = metrics::NewCounter("alluvium_worker_page_store_evictions_total",
                                                    "Pages evicted to make room.");
  metrics::Counter& checksum_failures =
      metrics::NewCounter("alluvium_worker_page_store_checksum_failures_total",
                          "Pages that failed verification on read and were dropped.");
};

Metrics& GlobalMetrics() {
  static Metrics m;
  return m;
}

// Rounds of "evict a region, write again" a Put makes on ENOSPC before it gives up: bounded, so
// that a disk another program keeps filling cannot make one Put wipe the whole cache.
constexpr int kMaxNoSpaceRounds = 32;
// Times a Put writes its page again after it landed behind another writer's failed write.
constexpr int kMaxRewrites = 16;

// Region files stay open for the life of the store; a large store may need more descriptors
// than the default soft limit allows.
void EnsureDescriptors(uint64_t wanted) {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, wanted);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < wanted) {
    ALLUVIUM_LOG(WARN, "page store: {} region files but only {} file descriptors allowed", wanted,
                 limit.rlim_cur);
  }
}

}  // namespace

PageStore::PageStore(PassKey, const PageStoreOptions& options,
                     std::vector<std::unique_ptr<StoreDir>> dirs, std::vector<RegionFile> files,
                     std::vector<uint32_t> region_dirs)
    : options_(options),
      region_size_(options.EffectiveRegionSize()),
      dirs_(std::move(dirs)),
      files_(std::move(files)),
      index_(std::move(region_dirs), region_size_),
      room_(dirs_.size()) {
  GlobalMetrics().capacity_bytes.Add(static_cast<int64_t>(options_.capacity_bytes));
}

PageStore::~PageStore() {
  Metrics& m = GlobalMetrics();
  MutexLock lock(mu_);
  m.pages.Add(-published_pages_);
  m.used_bytes.Add(-published_bytes_);
  m.capacity_bytes.Add(-static_cast<int64_t>(options_.capacity_bytes));
}

Result<std::unique_ptr<PageStore>> PageStore::Open(const PageStoreOptions& options) {
  ALLUVIUM_RETURN_IF_ERROR(options.Validate());
  const uint64_t region_size = options.EffectiveRegionSize();
  const uint64_t total = options.RegionCount();
  EnsureDescriptors(total + 1024);

  std::vector<std::unique_ptr<StoreDir>> dirs;
  std::vector<RegionFile> files;
  std::vector<uint32_t> region_dirs;
  std::vector<std::vector<ScannedRegion>> scans;
  const auto n = static_cast<uint32_t>(options.dirs.size());
  for (uint32_t i = 0; i < n; ++i) {
    ALLUVIUM_ASSIGN_OR_RETURN(auto dir,
                              StoreDir::Open(options.dirs[i], options.page_size, region_size));
    const auto count = static_cast<uint32_t>(total / n + (i < total % n ? 1 : 0));
    ALLUVIUM_ASSIGN_OR_RETURN(std::vector<OpenedRegion> regions, dir->OpenRegions(count));
    for (OpenedRegion& region : regions) {
      files.push_back(std::move(region.file));
      scans.emplace_back().push_back(std::move(region.scan));
      region_dirs.push_back(i);
    }
    dirs.push_back(std::move(dir));
  }
  auto store = std::make_unique<PageStore>(PassKey(), options, std::move(dirs), std::move(files),
                                           std::move(region_dirs));
  store->Restore(std::move(scans));
  return store;
}

uint32_t PageStore::DirFor(const PageKey& key) const {
  // Rendezvous (highest random weight) hashing: adding a dir moves only the pages that now
  // score highest on it, where "key mod dirs" would move almost all of them.
  const uint64_t bytes[3] = {key.file.hi, key.file.lo, key.index};
  uint32_t best = 0;
  uint64_t best_score = 0;
  for (uint32_t i = 0; i < dirs_.size(); ++i) {
    const uint64_t score = XXH3_64bits_withSeed(bytes, sizeof(bytes), dirs_[i]->id());
    if (i == 0 || score > best_score) best = i, best_score = score;
  }
  return best;
}

void PageStore::Restore(std::vector<std::vector<ScannedRegion>> scans) {
  uint64_t newest = 0, records = 0;
  MutexLock lock(mu_);
  for (uint32_t r = 0; r < scans.size(); ++r) {
    const ScannedRegion& scan = scans[r].front();
    if (!scan.header) continue;
    newest = std::max(newest, scan.header->epoch);
    if (scan.records.empty()) continue;
    const ScannedRecord& last = scan.records.back();
    index_.RestoreRegion(r, scan.header->epoch, last.offset + RecordSpan(last.header.length),
                         last.header.seq);
    for (const ScannedRecord& record : scan.records) {
      const RecordHeader& h = record.header;
      index_.RestoreRecord(h.key,
                           {.region = r,
                            .offset = record.offset,
                            .length = h.length,
                            .checksum = h.checksum,
                            .epoch = h.epoch},
                           h.seq);
      newest = std::max(newest, h.seq);
      ++records;
    }
  }
  index_.FinishRestore();
  next_seq_ = newest + 1;
  PublishLocked();
  ALLUVIUM_LOG(INFO,
               "page store opened: {} pages, {} of {} bytes in {} regions of {} bytes over {} "
               "dirs ({} records read)",
               index_.pages(), index_.bytes(), options_.capacity_bytes, files_.size(), region_size_,
               dirs_.size(), records);
}

bool PageStore::MayGrow(uint32_t dir) {
  constexpr int64_t kRecheckNs = 20'000'000;
  DiskRoom& room = room_[dir];
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  const int64_t checked = room.checked_ns.load(std::memory_order_relaxed);
  if (checked == 0 || now - checked > kRecheckNs) {
    room.room.store(dirs_[dir]->FreeBytes() >= 2 * region_size_, std::memory_order_relaxed);
    room.checked_ns.store(now, std::memory_order_relaxed);
  }
  return room.room.load(std::memory_order_relaxed);
}

void PageStore::CountEvictions(uint64_t pages) {
  if (pages == 0) return;
  evictions_.fetch_add(pages, std::memory_order_relaxed);
  GlobalMetrics().evictions.Increment(pages);
}

void PageStore::PublishLocked() {
  Metrics& m = GlobalMetrics();
  const auto pages = static_cast<int64_t>(index_.pages());
  const auto bytes = static_cast<int64_t>(index_.bytes());
  m.pages.Add(pages - published_pages_);
  m.used_bytes.Add(bytes - published_bytes_);
  published_pages_ = pages;
  published_bytes_ = bytes;
}

Status PageStore::Put(const PageKey& key, std::span<const std::byte> data, PinGroup pin) {
  const uint64_t length = data.size();
  if (length == 0 || length > options_.page_size) {
    return InvalidArgument(
        fmt::format("page {} has {} bytes; must be 1..{}", key, length, options_.page_size));
  }
  const uint32_t dir = DirFor(key);
  std::vector<std::byte> checksum_table(ChecksumTableBytes(length));
  EncodeChecksumTable(data, checksum_table);
  bool disk_full = false;
  bool rewrite = false;
  Status status;
  uint64_t evicted = 0;
  int rewrites = 0, no_space_rounds = 0;
  while (true) {
    status = TryPut(dir, key, data, checksum_table, pin, disk_full, rewrite);
    // A record that landed after another writer's failed slot was not kept: write it again,
    // into another region (the failed one is sealed).
    if (rewrite && ++rewrites <= kMaxRewrites) continue;
    if (!disk_full || ++no_space_rounds > kMaxNoSpaceRounds) break;
    // The disk is fuller than our accounting says (other programs, or regions never written to
    // their end): give the blocks of our least recently used region back (the disk's other
    // users, the metadata store among them, need room too) and write into one we still hold.
    std::optional<RegionIndex::Released> released;
    {
      MutexLock lock(mu_);
      released = index_.EvictOne(dir);
      PublishLocked();
    }
    if (!released) {
      // Nothing of ours to give back here now: other writers' evictions may be freeing blocks
      // this very moment (a region mid-release is not evictable twice). Try what they freed.
      std::this_thread::yield();
      continue;
    }
    if (Status st = files_[released->region].Truncate(); !st.ok()) {
      ALLUVIUM_LOG(WARN, "page store: cannot empty an evicted region: {}", st);
    }
    {
      MutexLock lock(mu_);
      index_.FinishRelease(released->region);
    }
    room_[dir].checked_ns.store(0, std::memory_order_relaxed);  // ask the disk again
    ++evicted;
    CountEvictions(released->pages);
  }
  // A disk too small for the dir's share of the capacity, filled with this load's own pages, is
  // the load not fitting; a disk that could hold the share but is full is someone else's doing,
  // worth waiting out.
  const uint64_t share = region_size_ * (files_.size() / dirs_.size());
  if (disk_full) {
    const bool small_disk = pin != kNoPin && dirs_[dir]->DiskBytes() < share;  // not under mu_
    MutexLock lock(mu_);
    if (small_disk && index_.WhyFull(dir, pin) == RegionIndex::Shortage::kPinnedByCaller) {
      const auto it = pins_.find(pin);
      return FailedPrecondition(fmt::format(
          "page store disk {} ({} bytes) is full of this load's own pages ({} bytes pinned), "
          "below the store's capacity of {} bytes",
          dirs_[dir]->root().string(), dirs_[dir]->DiskBytes(),
          it == pins_.end() ? 0 : it->second.bytes, options_.capacity_bytes));
    }
    return ResourceExhausted(
        fmt::format("page store disk {} is full: page {} not stored after "
                    "evicting {} regions ({})",
                    dirs_[dir]->root().string(), key, evicted, status.message()));
  }
  return status;
}

Status PageStore::TryPut(uint32_t dir, const PageKey& key, std::span<const std::byte> data,
                         std::span<const std::byte> checksum_table, PinGroup pin, bool& disk_full,
                         bool& rewrite) {
  disk_full = false;
  rewrite = false;
  const uint64_t length = data.size();
  std::optional<RegionIndex::Allocation> at;
  uint64_t seq = 0, evicted = 0;
  const bool may_grow = MayGrow(dir);
  Status no_room;
  {
    MutexLock lock(mu_);
    at = index_.Allocate(dir, RecordSpan(length), next_seq_, evicted, may_grow);
    if (at && at->new_epoch) ++next_seq_;
    if (!at && may_grow) no_room = NoRoomLocked(dir, key, length, pin);
    seq = next_seq_++;
    PublishLocked();
  }
  CountEvictions(evicted);
  if (!at && !may_grow) {
    disk_full = true;
    room_[dir].checked_ns.store(0, std::memory_order_relaxed);  // a full store asks every time
    return ResourceExhausted(fmt::format(
        "No space left on device for a new region of {} bytes and as much again for the disk's "
        "other users, and no region of ours to reuse",
        region_size_));
  }
  if (!at) return no_room;
  const RegionFile& file = files_[at->region];
  if (at->new_epoch) {
    const Status st = file.WriteHeader(
        {.epoch = at->epoch, .region_size = region_size_, .page_size = options_.page_size});
    MutexLock lock(mu_);
    index_.FinishNewEpoch(at->region, st.ok());
    disk_full = st.code() == Code::kResourceExhausted;
    if (!st.ok()) return st;
  }
  const uint64_t checksum = TableChecksum(checksum_table);
  const RegionIndex::Location location{.region = at->region,
                                       .offset = at->offset,
                                       .length = length,
                                       .checksum = checksum,
                                       .epoch = at->epoch};
  Status st = file.WriteRecord(
      at->offset,
      {.key = key, .length = length, .epoch = at->epoch, .seq = seq, .checksum = checksum},
      checksum_table, data);
  MutexLock lock(mu_);
  index_.FinishWrite(at->region);
  if (st.ok() && index_.BeyondHole(at->region, at->offset)) {
    // An earlier slot of the region failed while this one was written: a restart would not see
    // this record, so it is not indexed now either. Written again, it lands in another region.
    st = ResourceExhausted(
        fmt::format("page {} landed after a failed write in its region; not kept", key));
    rewrite = true;
  } else if (st.ok()) {
    index_.Insert(key, location);
    if (pin != kNoPin) PinLocked(pin, at->region, length);
    puts_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().puts.Increment();
  } else {
    // The failed slot is a hole a restart's scan stops at: no appends after it, and no record
    // after it stays indexed.
    index_.MarkHole(at->region, at->offset);
    index_.Seal(at->region);
    disk_full = st.code() == Code::kResourceExhausted;  // the disk ended inside this region
  }
  PublishLocked();
  return st;
}

Status PageStore::NoRoomLocked(uint32_t dir, const PageKey& key, uint64_t length,
                               PinGroup pin) const {
  switch (index_.WhyFull(dir, pin)) {
    case RegionIndex::Shortage::kBusy:
      return ResourceExhausted(
          fmt::format("page {} ({} bytes) does not fit: every region of the disk is being written",
                      key, length));
    case RegionIndex::Shortage::kPinnedByOthers:
      return ResourceExhausted(fmt::format(
          "page {} ({} bytes) does not fit: the page store is full of pages pinned by running "
          "loads; retry when they end",
          key, length));
    case RegionIndex::Shortage::kPinnedByCaller:
      break;
  }
  const auto it = pins_.find(pin);
  return FailedPrecondition(
      fmt::format("the page store ({} bytes) is full of this load's own pages ({} bytes pinned)",
                  options_.capacity_bytes, it == pins_.end() ? 0 : it->second.bytes));
}

void PageStore::PinLocked(PinGroup group, uint32_t region, uint64_t bytes) {
  Pins& pins = pins_[group];
  if (index_.Pin(region, group)) pins.regions.push_back(region);
  pins.bytes += bytes;
}

bool PageStore::Pin(const PageKey& key, PinGroup group) {
  MutexLock lock(mu_);
  const RegionIndex::Location* found = index_.Find(key);
  if (found == nullptr) return false;
  index_.Touch(found->region);
  PinLocked(group, found->region, found->length);
  return true;
}

void PageStore::Unpin(PinGroup group) {
  MutexLock lock(mu_);
  auto it = pins_.find(group);
  if (it == pins_.end()) return;
  for (uint32_t region : it->second.regions) index_.Unpin(region, group);
  pins_.erase(it);
}

uint64_t PageStore::PinnedBytes(PinGroup group) const {
  MutexLock lock(mu_);
  auto it = pins_.find(group);
  return it == pins_.end() ? 0 : it->second.bytes;
}

Result<size_t> PageStore::Read(const PageKey& key, uint64_t offset_in_page,
                               std::span<std::byte> out) {
  std::optional<RegionIndex::Location> location;
  {
    MutexLock lock(mu_);
    if (const RegionIndex::Location* found = index_.Find(key)) {
      location = *found;
      index_.Touch(found->region);
    }
  }
  if (!location) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().misses.Increment();
    return NotFound(fmt::format("page {} is not in the page store", key));
  }

  const uint64_t length = location->length;
  if (offset_in_page >= length || out.empty()) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().hits.Increment();
    return size_t{0};
  }
  const size_t n = std::min<uint64_t>(out.size(), length - offset_in_page);
  const Status st =
      ReadPageRange(ExtentOf(*location), offset_in_page, offset_in_page + n, out.data());
  if (st.ok()) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().hits.Increment();
    return n;
  }
  if (st.code() != Code::kDataLoss) return st;  // e.g. EMFILE: not the page's fault

  // Either the region was evicted and reused while we read (a miss), or the bytes are damaged:
  // drop the page, if it is still the one we read, so that it is refetched.
  bool evicted = false;
  {
    MutexLock lock(mu_);
    evicted = !index_.RegionAtEpoch(location->region, location->epoch);
    if (!evicted) index_.RemoveIf(key, *location);
    PublishLocked();
  }
  if (evicted) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().misses.Increment();
    return NotFound(fmt::format("page {} was evicted while being read", key));
  }
  const std::string_view reason = st.message();
  checksum_failures_.fetch_add(1, std::memory_order_relaxed);
  GlobalMetrics().checksum_failures.Increment();
  ALLUVIUM_LOG(WARN, "page checksum mismatch key={} region={} action=refetch: {}", key,
               files_[location->region].path().string(), reason);
  return DataLoss(
      fmt::format("page {} failed verification and was dropped; refetch it: {}", key, reason));
}

Result<PageExtent> PageStore::Locate(const PageKey& key) {
  MutexLock lock(mu_);
  const RegionIndex::Location* found = index_.Find(key);
  if (found == nullptr) return NotFound(fmt::format("page {} is not in the page store", key));
  index_.Touch(found->region);
  return ExtentOf(*found);
}

PageExtent PageStore::ExtentOf(const RegionIndex::Location& location) const {
  return PageExtent{.fd = files_[location.region].fd(),
                    .offset = location.offset + kRecordHeaderSize,
                    .length = location.length,
                    .checksum = location.checksum,
                    .region = location.region};
}

std::vector<int> PageStore::RegionFds() const {
  std::vector<int> fds;
  fds.reserve(files_.size());
  for (const RegionFile& file : files_) fds.push_back(file.fd());
  return fds;
}

bool PageStore::Contains(const PageKey& key) const {
  MutexLock lock(mu_);
  return index_.Find(key) != nullptr;
}

bool PageStore::ContainsOnDisk(const PageKey& key) {
  std::optional<RegionIndex::Location> location;
  {
    MutexLock lock(mu_);
    if (const RegionIndex::Location* found = index_.Find(key)) location = *found;
  }
  if (!location) return false;
  struct stat st;
  const uint64_t end = location->offset + RecordBytes(location->length);
  if (::fstat(files_[location->region].fd(), &st) == 0 &&
      static_cast<uint64_t>(st.st_size) >= end) {
    return true;
  }
  MutexLock lock(mu_);
  if (index_.RemoveIf(key, *location)) {
    ALLUVIUM_LOG(WARN, "page {} is gone from {} (the file is shorter than its record): dropped",
                 key, files_[location->region].path().string());
  }
  PublishLocked();
  return false;
}

Result<uint64_t> PageStore::PageLength(const PageKey& key) const {
  MutexLock lock(mu_);
  const RegionIndex::Location* found = index_.Find(key);
  if (found == nullptr) return NotFound(fmt::format("page {} is not in the page store", key));
  return found->length;
}

Status PageStore::Delete(const PageKey& key) {
  MutexLock lock(mu_);
  index_.Remove(key);
  PublishLocked();
  return OkStatus();
}

PageStoreStats PageStore::stats() const {
  PageStoreStats s;
  {
    MutexLock lock(mu_);
    s.pages = index_.pages();
    s.used_bytes = index_.bytes();
    s.regions_in_use = index_.regions_in_use();
    for (const auto& [group, pins] : pins_) s.pinned_bytes += pins.bytes;
  }
  s.capacity_bytes = options_.capacity_bytes;
  s.page_capacity_bytes = options_.FullPageCapacity();
  s.region_size = region_size_;
  s.regions = files_.size();
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.puts = puts_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.checksum_failures = checksum_failures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace alluvium::pagestore
