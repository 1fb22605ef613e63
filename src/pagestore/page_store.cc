#include "pagestore/page_store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <xxhash.h>

#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_mapping.h"
#include "pagestore/page_file.h"
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

// Rounds of "evict, write again" a Put makes on ENOSPC before it gives up.
constexpr int kMaxNoSpaceRounds = 32;

// Disk space a page file of `length` data bytes takes: data and footer in whole 4 KiB blocks
// (what most file systems allocate), so that freeing room for a page is not undone by rounding.
uint64_t DiskBytes(uint64_t length) {
  constexpr uint64_t kBlock = 4096;
  return (length + kPageFooterSize + kBlock - 1) / kBlock * kBlock;
}

}  // namespace

PageStore::PageStore(PassKey, const PageStoreOptions& options,
                     std::vector<std::unique_ptr<StoreDir>> dirs)
    : options_(options), dirs_(std::move(dirs)) {
  GlobalMetrics().capacity_bytes.Add(static_cast<int64_t>(options_.capacity_bytes));
}

PageStore::~PageStore() {
  Metrics& m = GlobalMetrics();
  std::lock_guard lock(mu_);
  m.pages.Add(-published_pages_);
  m.used_bytes.Add(-published_bytes_);
  m.capacity_bytes.Add(-static_cast<int64_t>(options_.capacity_bytes));
}

Result<std::unique_ptr<PageStore>> PageStore::Open(const PageStoreOptions& options) {
  ALLUVIUM_RETURN_IF_ERROR(options.Validate());
  std::vector<std::unique_ptr<StoreDir>> dirs;
  for (const auto& path : options.dirs) {
    ALLUVIUM_ASSIGN_OR_RETURN(auto dir, StoreDir::Open(path, options.page_size));
    dirs.push_back(std::move(dir));
  }
  auto store = std::make_unique<PageStore>(PassKey(), options, std::move(dirs));
  store->Reindex();
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

void PageStore::Reindex() {
  std::vector<ScannedPage> pages;
  uint64_t dropped = 0, misplaced = 0;
  for (uint32_t i = 0; i < dirs_.size(); ++i) {
    ScanResult scan = dirs_[i]->Scan([&](const PageKey& key) { return DirFor(key) == i; });
    dropped += scan.dropped;
    misplaced += scan.misplaced;
    for (ScannedPage& page : scan.pages) pages.push_back(page);
  }
  // Recency is not persisted: the last write is the best guess (reads do not touch the disk).
  std::sort(pages.begin(), pages.end(),
            [](const ScannedPage& a, const ScannedPage& b) { return a.mtime_ns < b.mtime_ns; });
  std::vector<LruIndex::Victim> victims;
  {
    std::lock_guard lock(mu_);
    for (const ScannedPage& page : pages) {
      const uint32_t dir = DirFor(page.key);
      index_.Insert(page.key,
                    {.length = page.length, .dir = dir, .generation = next_generation_++});
    }
    // Capacity may have shrunk since the pages were written.
    EvictForLocked(0, victims);
    PublishLocked();
  }
  DeleteFiles(victims);
  const PageStoreStats s = stats();
  ALLUVIUM_LOG(INFO,
               "page store opened: {} pages, {} of {} bytes in {} dirs; deleted {} damaged and {} "
               "misplaced files, evicted {} pages over capacity",
               s.pages, s.used_bytes, s.capacity_bytes, dirs_.size(), dropped, misplaced,
               victims.size());
}

void PageStore::EvictForLocked(uint64_t bytes, std::vector<LruIndex::Victim>& victims) {
  const size_t before = victims.size();
  while (index_.bytes() + reserved_bytes_ + bytes > options_.capacity_bytes) {
    std::optional<LruIndex::Victim> victim = index_.PopLeastRecent();
    if (!victim) break;
    victims.push_back(*victim);
  }
  evictions_.fetch_add(victims.size() - before, std::memory_order_relaxed);
  GlobalMetrics().evictions.Increment(victims.size() - before);
}

std::vector<LruIndex::Victim> PageStore::EvictFromDir(uint32_t dir, uint64_t disk_bytes) {
  std::vector<LruIndex::Victim> victims;
  std::lock_guard lock(mu_);
  uint64_t freed = 0;
  while (freed < disk_bytes) {
    std::optional<LruIndex::Victim> victim = index_.PopLeastRecentIn(dir);
    if (!victim) break;
    freed += DiskBytes(victim->entry.length);
    victims.push_back(*victim);
  }
  evictions_.fetch_add(victims.size(), std::memory_order_relaxed);
  GlobalMetrics().evictions.Increment(victims.size());
  PublishLocked();
  return victims;
}

void PageStore::DeleteFiles(const std::vector<LruIndex::Victim>& victims) {
  for (const LruIndex::Victim& v : victims) {
    const std::string path = dirs_[v.entry.dir]->PagePath(v.key);
    // ENOENT: a concurrent Read found it gone or damaged first. Anything else leaves an
    // unindexed file, which the next Open re-indexes or drops.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      ALLUVIUM_LOG(WARN, "page store: cannot delete evicted page {}: {}", path,
                   FromErrno(errno, "unlink").message());
    }
  }
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

Status PageStore::Put(const PageKey& key, std::span<const std::byte> data) {
  const uint64_t length = data.size();
  if (length == 0 || length > options_.page_size) {
    return InvalidArgument(
        fmt::format("page {} has {} bytes; must be 1..{}", key, length, options_.page_size));
  }
  const uint32_t dir = DirFor(key);
  std::vector<LruIndex::Victim> victims;
  {
    std::lock_guard lock(mu_);
    // Pages being written cannot be evicted, so they may hold capacity nobody can free now.
    if (reserved_bytes_ + length > options_.capacity_bytes) {
      return ResourceExhausted(fmt::format(
          "page {} ({} bytes) does not fit: {} of {} bytes of capacity are held by writes in "
          "progress",
          key, length, reserved_bytes_, options_.capacity_bytes));
    }
    EvictForLocked(length, victims);
    reserved_bytes_ += length;
    PublishLocked();
  }
  DeleteFiles(victims);

  const std::string path = dirs_[dir]->PagePath(key);
  auto temp_path = [&] { return dirs_[dir]->TempPath(key, next_temp_.fetch_add(1)); };
  Status status = WritePageFile(temp_path(), path, key, data);
  // The disk is fuller than our accounting says (other users, footers, block rounding), or other
  // writers took the space freed for us: evict from this disk about what the page needs and
  // retry, until it fits or none of our pages is left there. Each round frees a little more
  // (up to 8 pages' worth), so a writer racing many others gets its room. Bounded, so that a disk
  // another program keeps filling cannot make one Put wipe the whole cache.
  uint64_t evicted = 0;
  for (int round = 0; status.code() == Code::kResourceExhausted && round < kMaxNoSpaceRounds;
       ++round) {
    const uint64_t want = DiskBytes(length) * std::min<uint64_t>(uint64_t{1} << round, 8);
    const std::vector<LruIndex::Victim> freed = EvictFromDir(dir, want);
    if (freed.empty()) break;
    evicted += freed.size();
    DeleteFiles(freed);
    status = WritePageFile(temp_path(), path, key, data);
  }
  if (status.code() == Code::kResourceExhausted) {
    status = ResourceExhausted(fmt::format(
        "page store disk {} is full: page {} not stored after evicting {} of its pages ({})",
        dirs_[dir]->root().string(), key, evicted, status.message()));
  }

  std::lock_guard lock(mu_);
  reserved_bytes_ -= length;
  if (status.ok()) {
    // A concurrent Put of the same key may have renamed its file after ours; the entry then
    // describes the other write. Pages of one FileId are immutable, so both hold the same bytes.
    index_.Insert(key, {.length = length, .dir = dir, .generation = next_generation_++});
    puts_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().puts.Increment();
  }
  PublishLocked();
  return status;
}

Result<size_t> PageStore::Read(const PageKey& key, uint64_t offset_in_page,
                               std::span<std::byte> out) {
  uint32_t dir = 0;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    const LruIndex::Entry* entry = index_.Touch(key);
    if (entry != nullptr) dir = entry->dir, generation = entry->generation;
  }
  if (generation == 0) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().misses.Increment();
    return NotFound(fmt::format("page {} is not in the page store", key));
  }

  // An eviction or Delete racing with us either unlinks the file after we opened it (POSIX
  // keeps it readable) or before (ENOENT below: a miss).
  const std::string path = dirs_[dir]->PagePath(key);
  Result<size_t> read = ReadPageFile(path, key, options_.page_size, offset_in_page, out);
  if (read.ok()) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().hits.Increment();
    return read;
  }
  const Code code = read.status().code();
  if (code != Code::kNotFound && code != Code::kDataLoss) return read.status();  // e.g. EMFILE

  // Drop the entry only if it is still the version we read: a Put may have replaced it since.
  bool dropped = false;
  {
    std::lock_guard lock(mu_);
    dropped = index_.RemoveIfGeneration(key, generation);
    PublishLocked();
  }
  if (code == Code::kNotFound) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    GlobalMetrics().misses.Increment();
    return NotFound(fmt::format("page {} is not in the page store (file gone)", key));
  }
  checksum_failures_.fetch_add(1, std::memory_order_relaxed);
  GlobalMetrics().checksum_failures.Increment();
  ALLUVIUM_LOG(WARN, "page checksum mismatch key={} action=refetch: {}", key,
               read.status().message());
  if (dropped) ::unlink(path.c_str());  // best effort; the next Open drops it otherwise
  return DataLoss(fmt::format("page {} failed verification and was dropped; refetch it: {}", key,
                              read.status().message()));
}

bool PageStore::Contains(const PageKey& key) const {
  std::lock_guard lock(mu_);
  return index_.Find(key) != nullptr;
}

Result<uint64_t> PageStore::PageLength(const PageKey& key) const {
  std::lock_guard lock(mu_);
  const LruIndex::Entry* entry = index_.Find(key);
  if (entry == nullptr) return NotFound(fmt::format("page {} is not in the page store", key));
  return entry->length;
}

Status PageStore::Delete(const PageKey& key) {
  std::optional<LruIndex::Entry> entry;
  {
    std::lock_guard lock(mu_);
    entry = index_.Remove(key);
    PublishLocked();
  }
  if (!entry) return OkStatus();
  const std::string path = dirs_[entry->dir]->PagePath(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return FromErrno(errno, fmt::format("delete page {}", key));
  }
  return OkStatus();
}

PageStoreStats PageStore::stats() const {
  PageStoreStats s;
  {
    std::lock_guard lock(mu_);
    s.pages = index_.pages();
    s.used_bytes = index_.bytes();
  }
  s.capacity_bytes = options_.capacity_bytes;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.puts = puts_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.checksum_failures = checksum_failures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace alluvium::pagestore
