#include "pagestore/region_index.h"

#include <algorithm>

#include "pagestore/page_record.h"

namespace alluvium::pagestore {

RegionIndex::RegionIndex(std::vector<uint32_t> region_dirs, uint64_t region_size)
    : region_size_(region_size), regions_(region_dirs.size()) {
  uint32_t dirs = 0;
  for (uint32_t dir : region_dirs) dirs = std::max(dirs, dir + 1);
  lru_.resize(dirs);
  open_.resize(dirs);
  free_.resize(dirs);
  // Free lists are popped from the back: reversed, so region files fill in number order.
  for (uint32_t r = static_cast<uint32_t>(region_dirs.size()); r-- > 0;) {
    regions_[r].dir = region_dirs[r];
    free_[region_dirs[r]].push_back(r);
  }
}

void RegionIndex::RestoreRegion(uint32_t region, uint64_t epoch, uint64_t end,
                                uint64_t newest_seq) {
  Region& r = regions_[region];
  auto& list = free_[r.dir];
  list.erase(std::remove(list.begin(), list.end(), region), list.end());
  // Sealed: appending after a restart could meet a record a crash left without its header
  // beyond `end`, whose stale header a later scan would mistake for part of the chain.
  r.state = State::kSealed;
  r.epoch = epoch;
  r.end = end;
  r.newest_seq = newest_seq;
  r.lru = lru_[r.dir].insert(lru_[r.dir].end(), region);
}

void RegionIndex::RestoreRecord(const PageKey& key, const Location& location, uint64_t seq) {
  auto [seq_it, fresh] = restore_seq_.try_emplace(key, seq);
  if (!fresh) {
    if (seq_it->second > seq) return;
    seq_it->second = seq;
  }
  Insert(key, location);
}

void RegionIndex::FinishRestore() {
  restore_seq_.clear();
  for (auto& list : lru_) {
    list.sort(
        [&](uint32_t a, uint32_t b) { return regions_[a].newest_seq < regions_[b].newest_seq; });
    for (auto it = list.begin(); it != list.end(); ++it) regions_[*it].lru = it;
  }
}

const RegionIndex::Location* RegionIndex::Find(const PageKey& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &it->second;
}

void RegionIndex::Touch(uint32_t region) {
  Region& r = regions_[region];
  if (r.state == State::kFree || r.state == State::kReleasing) return;
  auto& list = lru_[r.dir];
  list.splice(list.end(), list, r.lru);
}

std::optional<RegionIndex::Allocation> RegionIndex::Allocate(uint32_t dir, uint64_t span,
                                                             uint64_t epoch,
                                                             uint64_t& evicted_pages,
                                                             bool may_grow) {
  auto& open = open_[dir];
  for (size_t i = 0; i < open.size();) {
    Region& r = regions_[open[i]];
    if (r.state == State::kOpen && r.end + span <= region_size_) {
      const uint64_t offset = r.end;
      r.end += span;
      ++r.writers;
      return Allocation{.region = open[i], .offset = offset, .epoch = r.epoch};
    }
    if (r.state == State::kOpen) {  // too full for this record: no more appends
      r.state = State::kSealed;
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;  // opening: its first writer is still writing the header
  }

  uint32_t region = 0;
  if (may_grow && !free_[dir].empty()) {
    region = free_[dir].back();
    free_[dir].pop_back();
    regions_[region].lru = lru_[dir].insert(lru_[dir].end(), region);
  } else {
    auto victim = std::find_if(lru_[dir].begin(), lru_[dir].end(),
                               [&](uint32_t r) { return Evictable(regions_[r]); });
    if (victim == lru_[dir].end()) return std::nullopt;
    region = *victim;
    DropPages(region, evicted_pages);
    Touch(region);
  }
  Region& r = regions_[region];
  r.state = State::kOpening;
  r.epoch = epoch;
  r.hole = UINT64_MAX;
  r.end = kRegionHeaderSize + span;
  r.writers = 1;
  r.keys.clear();
  open.push_back(region);
  return Allocation{
      .region = region, .offset = kRegionHeaderSize, .epoch = epoch, .new_epoch = true};
}

void RegionIndex::FinishNewEpoch(uint32_t region, bool ok) {
  Region& r = regions_[region];
  if (ok) {
    r.state = State::kOpen;
    return;
  }
  // Likely a full disk: the region goes back to the free list, tried again only after the
  // others, so that the store recovers once space is freed.
  auto& open = open_[r.dir];
  open.erase(std::remove(open.begin(), open.end(), region), open.end());
  lru_[r.dir].erase(r.lru);
  r.state = State::kFree;
  r.writers = 0;
  free_[r.dir].insert(free_[r.dir].begin(), region);
}

void RegionIndex::FinishWrite(uint32_t region) { --regions_[region].writers; }

void RegionIndex::Seal(uint32_t region) {
  Region& r = regions_[region];
  if (r.state != State::kOpen) return;
  r.state = State::kSealed;
  auto& open = open_[r.dir];
  open.erase(std::remove(open.begin(), open.end(), region), open.end());
}

std::optional<RegionIndex::Released> RegionIndex::EvictOne(uint32_t dir) {
  auto victim = std::find_if(lru_[dir].begin(), lru_[dir].end(),
                             [&](uint32_t r) { return Evictable(regions_[r]); });
  if (victim == lru_[dir].end()) return std::nullopt;
  const uint32_t region = *victim;
  uint64_t dropped = 0;
  DropPages(region, dropped);
  lru_[dir].erase(victim);
  regions_[region].state = State::kReleasing;
  return Released{.region = region, .pages = dropped};
}

void RegionIndex::FinishRelease(uint32_t region) {
  Region& r = regions_[region];
  r.state = State::kFree;
  free_[r.dir].push_back(region);
}

void RegionIndex::MarkHole(uint32_t region, uint64_t offset) {
  Region& r = regions_[region];
  r.hole = std::min(r.hole, offset);
  std::erase_if(r.keys, [&](const PageKey& key) {
    auto it = RecordIn(region, key);
    const bool beyond = it != by_key_.end() && it->second.offset > r.hole;
    if (beyond) Erase(it);
    return beyond;
  });
}

bool RegionIndex::BeyondHole(uint32_t region, uint64_t offset) const {
  return offset > regions_[region].hole;
}

bool RegionIndex::Pin(uint32_t region, uint64_t group) {
  std::vector<uint64_t>& by = regions_[region].pinned_by;
  if (std::find(by.begin(), by.end(), group) != by.end()) return false;
  by.push_back(group);
  return true;
}

void RegionIndex::Unpin(uint32_t region, uint64_t group) {
  std::vector<uint64_t>& by = regions_[region].pinned_by;
  by.erase(std::remove(by.begin(), by.end(), group), by.end());
}

RegionIndex::Shortage RegionIndex::WhyFull(uint32_t dir, uint64_t group) const {
  bool pinned_by_caller = false;
  for (uint32_t index : lru_[dir]) {
    const Region& r = regions_[index];
    if (r.state != State::kSealed || r.writers != 0 || r.pinned_by.empty()) continue;
    const bool caller =
        std::find(r.pinned_by.begin(), r.pinned_by.end(), group) != r.pinned_by.end();
    if (!caller) return Shortage::kPinnedByOthers;
    pinned_by_caller = true;
  }
  return pinned_by_caller ? Shortage::kPinnedByCaller : Shortage::kBusy;
}

void RegionIndex::DropPages(uint32_t region, uint64_t& dropped) {
  Region& r = regions_[region];
  for (const PageKey& key : r.keys) {
    if (auto it = RecordIn(region, key); it != by_key_.end()) {
      Erase(it);
      ++dropped;
    }
  }
  r.keys.clear();
}

RegionIndex::KeyIterator RegionIndex::RecordIn(uint32_t region, const PageKey& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return it;
  const Location& at = it->second;
  return at.region == region && at.epoch == regions_[region].epoch ? it : by_key_.end();
}

void RegionIndex::Erase(KeyIterator it) {
  bytes_ -= it->second.length;
  by_key_.erase(it);
}

void RegionIndex::Insert(const PageKey& key, const Location& location) {
  auto [it, fresh] = by_key_.try_emplace(key, location);
  if (!fresh) {
    bytes_ -= it->second.length;
    it->second = location;
  }
  bytes_ += location.length;
  regions_[location.region].keys.push_back(key);
}

bool RegionIndex::RemoveIf(const PageKey& key, const Location& location) {
  auto it = by_key_.find(key);
  if (it == by_key_.end() || !(it->second == location)) return false;
  Erase(it);
  return true;
}

std::optional<RegionIndex::Location> RegionIndex::Remove(const PageKey& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  const Location location = it->second;
  Erase(it);
  return location;
}

bool RegionIndex::RegionAtEpoch(uint32_t region, uint64_t epoch) const {
  const Region& r = regions_[region];
  return r.epoch == epoch && r.state != State::kFree && r.state != State::kReleasing;
}

uint32_t RegionIndex::regions_in_use() const {
  uint32_t n = 0;
  for (const Region& r : regions_) n += r.state != State::kFree && r.state != State::kReleasing;
  return n;
}

}  // namespace alluvium::pagestore
