// src/ring/ring.h
//
// Maps a placement key (one segment of one file) to the workers that should cache it, by
// consistent hashing. The coordinator uses it to place load tasks and clients use it to route
// reads, so both must build their Ring from the same worker ids and the same RingOptions; then
// every process computes the same placement without talking to anyone.
//
// A Ring is immutable: a membership change builds a new one and swaps a
// std::shared_ptr<const Ring>, so readers never lock. All const methods are safe for concurrent
// use. Pure code: no I/O, no clocks, no randomness; hashing is xxHash (XXH3), which gives the same
// values on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace alluvium::ring {

class Placer;  // src/ring/placer.h, one per policy

enum class Policy {
  kKetama,  // virtual nodes on a 64-bit hash circle
  kJump,    // Lamping & Veach jump consistent hash over the sorted worker list
  kMaglev,  // Google Maglev lookup table
};

// "ketama" | "jump" | "maglev", case-insensitive; kInvalidArgument otherwise.
Result<Policy> ParsePolicy(std::string_view name);
// The lower-case name ParsePolicy accepts.
std::string_view PolicyName(Policy p);

// Bound in config as alluvium.user.worker.selection.policy and
// alluvium.user.consistent.hash.virtual.node.count.per.worker. Every process of a cluster must
// use the same values, or they disagree about placement. See docs/hashing.md for measurements.
struct RingOptions {
  // Ketama is the only policy where adding or removing one worker moves just that worker's share
  // of keys (about 1/N) AND a key whose owner leaves moves to its second preference. That second
  // property is what makes "retry on the next worker of the ring" read where the coordinator will
  // reload. Jump and maglev balance better but lack it (docs/hashing.md).
  Policy policy = Policy::kKetama;
  // Per worker, ketama only. Load spread shrinks like 1/sqrt(virtual_nodes). With 2000 the worst
  // max/mean keys per worker we measured over 10 sets of ids was 1.05 / 1.08 / 1.09 at 3 / 10 / 50
  // workers (target <= 1.15; 500 reached 1.17 at 50), for 24 KB of ring per worker and a 13-17
  // step binary search.
  uint32_t virtual_nodes = 2000;

  // kInvalidArgument if virtual_nodes is outside [1, kMaxVirtualNodes].
  Status Validate() const;

  friend bool operator==(const RingOptions&, const RingOptions&) = default;
};

// Bounds ketama memory: 12 bytes per virtual node per worker (16 while building).
inline constexpr uint32_t kMaxVirtualNodes = 1 << 16;

class Ring {
 public:
  // Deterministic: the same set of worker ids (any order, duplicates ignored) and the same options
  // give an identical ring in every process. `options` must pass Validate() (checked: a caller
  // that skips validation is a bug).
  static std::shared_ptr<const Ring> Build(std::vector<std::string> worker_ids,
                                           const RingOptions& options);

  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Up to n DISTINCT worker ids in preference order for `key`: [0] is the owner, [1] the next
  // worker to try when the owner is down, and so on. Returns min(n, size()) ids; empty if the ring
  // is empty. Allocates only the result.
  std::vector<std::string> Lookup(std::string_view key, size_t n) const;

  // Lookup(key, 1)[0] without allocating. The ring must not be empty (checked).
  const std::string& Owner(std::string_view key) const;

  // Lookup(key, n) as indices into workers(), written over `out`: for placement code that walks
  // many preference lists, so it reuses one buffer and builds no strings.
  void LookupIndices(std::string_view key, size_t n, std::vector<uint32_t>& out) const;

  const std::vector<std::string>& workers() const { return workers_; }  // sorted, unique
  size_t size() const { return workers_.size(); }
  bool empty() const { return workers_.empty(); }
  const RingOptions& options() const { return options_; }

 private:
  Ring(std::vector<std::string> workers, const RingOptions& options);

  const std::vector<std::string> workers_;
  const RingOptions options_;
  const std::unique_ptr<const Placer> placer_;  // null when empty
};

// The ring key of one segment of a file: "<uri>#<segment_index>". Reads and loads both use this,
// so a segment is read from the worker that loaded it.
std::string PlacementKey(std::string_view ufs_uri, uint64_t segment_index);

}  // namespace alluvium::ring
