// src/ring/file_placement_cache.cc
//
// A small LRU of FilePlacements keyed by URI; a new length replaces the entry (a new version).
#include "ring/file_placement_cache.h"

#include <utility>

#include "common/status.h"

namespace alluvium::ring {

FilePlacementCache::FilePlacementCache(std::shared_ptr<const Ring> ring, uint64_t segment_size,
                                       size_t capacity)
    : ring_(std::move(ring)), segment_size_(segment_size), capacity_(capacity) {
  ALLUVIUM_CHECK(ring_ != nullptr && segment_size_ > 0 && capacity_ > 0);
}

std::vector<std::string> FilePlacementCache::Workers(std::string_view uri, uint64_t length,
                                                     uint64_t segment, size_t n) const {
  if (!FilePlacement::Balanced(FilePlacement::SegmentCount(length, segment_size_)) ||
      ring_->size() < 2) {
    return ring_->Lookup(PlacementKey(uri, segment), n);
  }
  return Get(uri, length)->Workers(segment, n);
}

std::shared_ptr<const FilePlacement> FilePlacementCache::Get(std::string_view uri,
                                                             uint64_t length) const {
  {
    MutexLock lock(mu_);
    if (auto it = by_uri_.find(uri); it != by_uri_.end() && it->second->length == length) {
      recent_.splice(recent_.begin(), recent_, it->second);
      return it->second->placement;
    }
  }
  // Built outside the lock (cheap: placement happens on first use, under the placement's lock).
  auto placement = std::make_shared<const FilePlacement>(ring_, uri, length, segment_size_);
  MutexLock lock(mu_);
  if (auto it = by_uri_.find(uri); it != by_uri_.end()) {
    // Another thread cached it meanwhile (keep theirs, placed once), or an older length.
    if (it->second->length == length) return it->second->placement;
    const auto entry = it->second;
    by_uri_.erase(it);  // first: its key views the entry's uri
    recent_.erase(entry);
  }
  recent_.push_front({.uri = std::string(uri), .length = length, .placement = placement});
  by_uri_.emplace(recent_.front().uri, recent_.begin());
  if (recent_.size() > capacity_) {
    by_uri_.erase(recent_.back().uri);
    recent_.pop_back();
  }
  return placement;
}

}  // namespace alluvium::ring
