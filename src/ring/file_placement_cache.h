// src/ring/file_placement_cache.h
//
// The FilePlacements of the files recently looked up on one ring, so that the per-segment
// lookups of a load or a read of a large file place its segments once, not once per lookup.
// Belongs to a snapshot of the ring (the coordinator's, a client's cluster view) and dies with
// it, so a membership change starts afresh. Bounded: the least recently used file goes first.
// Safe for concurrent use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "ring/file_placement.h"

namespace alluvium::ring {

class FilePlacementCache {
 public:
  // A load keeps a window of files in flight and a client reads a few files at once: this covers
  // both, and bounds memory to a few MiB even for files of thousands of segments.
  static constexpr size_t kDefaultCapacity = 256;

  // `ring` non-null, `segment_size` > 0, `capacity` > 0 (checked).
  FilePlacementCache(std::shared_ptr<const Ring> ring, uint64_t segment_size,
                     size_t capacity = kDefaultCapacity);

  // FilePlacement(ring, uri, length, segment_size).Workers(segment, n), placing the file at most
  // once while it stays cached. A file of one segment goes straight to the ring, uncached.
  std::vector<std::string> Workers(std::string_view uri, uint64_t length, uint64_t segment,
                                   size_t n) const;

  // The file's placement, from the cache or built and cached.
  std::shared_ptr<const FilePlacement> Get(std::string_view uri, uint64_t length) const;

  const std::shared_ptr<const Ring>& ring() const { return ring_; }
  uint64_t segment_size() const { return segment_size_; }

 private:
  struct Entry {
    std::string uri;
    uint64_t length = 0;
    std::shared_ptr<const FilePlacement> placement;
  };

  const std::shared_ptr<const Ring> ring_;
  const uint64_t segment_size_;
  const size_t capacity_;

  mutable Mutex mu_;
  mutable std::list<Entry> recent_ GUARDED_BY(mu_);  // most recently used first
  // Keys view Entry::uri, which a list node keeps in place.
  mutable std::map<std::string_view, std::list<Entry>::iterator, std::less<>> by_uri_
      GUARDED_BY(mu_);
};

}  // namespace alluvium::ring
