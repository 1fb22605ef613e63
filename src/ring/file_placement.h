// src/ring/file_placement.h
//
// Balanced placement of the segments of one file: bounded-load consistent hashing, per file.
// Plain ring placement puts every segment on its own key's owner, so the few segments of one
// large file land unevenly (the 16 segments of a 1 GiB file were seen 11 / 2 / 3 on 3 workers).
// Here segments are placed in index order, each on the first worker of its ring preference list
// (Ring::LookupIndices(PlacementKey(uri, s), ...)) that holds fewer than Cap(S, N) of the file's
// segments. Rank r > 0 (the r-th replica, and the r-th worker a reader fails over to) is chosen
// the same way with its own counts, among the workers that do not hold a lower rank of the
// segment: it depends on ranks < r only, never on a replica count, which readers do not know.
// When every worker with room at rank r already holds a lower rank of the segment, an earlier
// segment's copy (never segment 0's) at rank r moves to one of them and frees its worker (an
// exchange), so ranks above 0 keep the cap too; that is why they are placed for the whole file at
// once.
//
// The placement is a function of (ring, uri, length, segment size) alone, so the coordinator and
// every client compute the same owners without talking. What callers may rely on:
//  - Segment 0 gets exactly its ring preference list (it is placed first, against empty counts),
//    so a status or listing routed by PlacementKey(uri, 0), before the length is known, reaches
//    the same workers.
//  - A file of one segment, a segment at or past the file's end, and a file of more than
//    kMaxBalancedSegments segments are placed by the plain ring, at no extra cost.
// See docs/hashing.md for the cap, the failover order and measurements.
//
// Logically immutable and safe for concurrent use: ranks are computed on first use under an
// internal lock and kept; rank 0 only up to the segment asked, so reading the start of a large
// file places only its start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "ring/ring.h"

namespace alluvium::ring {

class FilePlacement {
 public:
  // Ranks placed with counts; later ones are the rest of the segment's ring preference list.
  // Covers the replicas anyone uses plus failovers, and bounds the work of a long failover.
  static constexpr size_t kBalancedRanks = 8;
  // Past this many segments (4 TiB at 64 MiB) the plain ring is used: so many keys already spread
  // within the ring's own balance (docs/hashing.md), and memory stays at 4 bytes x this per rank.
  static constexpr uint64_t kMaxBalancedSegments = uint64_t{1} << 16;

  // Segments of a file as loads cut it: ceil(length / segment_size), and 1 for an empty file.
  // `segment_size` > 0 (checked).
  static uint64_t SegmentCount(uint64_t length, uint64_t segment_size);

  // Most of a file's S segments one worker takes at one rank among N: max(ceil(S/N),
  // floor(1.15 S/N)). The first term makes a placement always exist; the second allows 15% over
  // the mean, which is the balance target, so most segments keep their ring owner.
  static uint64_t Cap(uint64_t segments, size_t workers);

  // Whether a file of `segments` segments is placed by counts at all (2..kMaxBalancedSegments).
  static bool Balanced(uint64_t segments) {
    return segments > 1 && segments <= kMaxBalancedSegments;
  }

  // `ring` non-null, `segment_size` > 0 (checked). Cheap: nothing is placed until asked.
  FilePlacement(std::shared_ptr<const Ring> ring, std::string_view uri, uint64_t length,
                uint64_t segment_size);
  FilePlacement(const FilePlacement&) = delete;
  FilePlacement& operator=(const FilePlacement&) = delete;

  // Up to n distinct worker ids for `segment`, in order: ranks 0, 1, ... ([0] owns the segment,
  // [r] holds replica r and is the r-th worker to fail over to), after kBalancedRanks the rest of
  // the segment's ring preference list. min(n, ring size) ids; empty if the ring is empty.
  // Allocates only the result, except when past the balanced ranks.
  std::vector<std::string> Workers(uint64_t segment, size_t n) const;

  // Workers(segment, 1)[0] without allocating. The ring must not be empty (checked).
  const std::string& Owner(uint64_t segment) const;

  uint64_t segments() const { return segments_; }
  const std::shared_ptr<const Ring>& ring() const { return ring_; }

 private:
  // One rank's owners for the segments [0, owner.size()), and its per-worker counts.
  struct Rank {
    std::vector<uint32_t> owner;
    std::vector<uint64_t> count;  // by worker index
  };

  // Makes ranks [0, ranks) cover segments [0, end).
  void PlaceLocked(size_t ranks, uint64_t end) const REQUIRES(mu_);
  uint32_t PlaceOne(size_t rank, uint64_t segment) const REQUIRES(mu_);
  // When `segment` finds no worker with room at `rank` (rank > 0): moves an earlier segment's
  // copy to a worker with room and returns the worker it freed.
  std::optional<uint32_t> ExchangeLocked(size_t rank, uint64_t segment) const REQUIRES(mu_);
  std::string_view KeyLocked(uint64_t segment) const REQUIRES(mu_);  // PlacementKey in key_

  const std::shared_ptr<const Ring> ring_;
  const std::string uri_;
  const uint64_t segments_;
  const bool balanced_;  // Balanced(segments_) and a ring of two workers or more
  const uint64_t cap_;

  mutable Mutex mu_;
  mutable std::vector<Rank> ranks_ GUARDED_BY(mu_);
  mutable std::string key_ GUARDED_BY(mu_);                   // "<uri>#", then the index
  mutable std::vector<uint32_t> preference_ GUARDED_BY(mu_);  // LookupIndices buffer
};

}  // namespace alluvium::ring
