// src/ring/placer.h
//
// Internal to src/ring: the per-policy part of a Ring, and the hashing helpers they share. A
// Placer is built once per Ring and then only read, so it is safe for concurrent use.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <xxhash.h>

namespace alluvium::ring {

// Distinct worker indices in preference order, up to a wanted count. Small counts (the usual
// 1-3) live inline and are deduplicated by a linear scan, so Owner() and short lookups never
// allocate; larger counts use a bitmap.
class Picks {
 public:
  Picks(size_t want, size_t worker_count) : want_(want) {
    if (want_ > kInline) {
      heap_.reserve(want_);
      seen_.assign(worker_count, false);
    }
  }

  // Appends `index` unless already picked or full. Returns full().
  bool Add(uint32_t index) {
    if (full()) return true;
    if (want_ <= kInline) {
      for (size_t i = 0; i < size_; ++i) {
        if (inline_[i] == index) return false;
      }
      inline_[size_++] = index;
    } else {
      if (seen_[index]) return false;
      seen_[index] = true;
      heap_.push_back(index);
      ++size_;
    }
    return full();
  }

  bool full() const { return size_ == want_; }
  size_t size() const { return size_; }
  uint32_t operator[](size_t i) const { return want_ <= kInline ? inline_[i] : heap_[i]; }

 private:
  static constexpr size_t kInline = 8;

  size_t want_;
  size_t size_ = 0;
  std::array<uint32_t, kInline> inline_{};
  std::vector<uint32_t> heap_;
  std::vector<bool> seen_;
};

class Placer {
 public:
  virtual ~Placer() = default;
  // Fills `picks` (1 <= want <= worker count) for a key whose hash is `key_hash`.
  virtual void Prefer(uint64_t key_hash, Picks& picks) const = 0;
};

// `workers` sorted and unique, non-empty; indices in Picks refer to it.
std::unique_ptr<Placer> MakeKetamaPlacer(const std::vector<std::string>& workers,
                                         uint32_t virtual_nodes);
std::unique_ptr<Placer> MakeJumpPlacer(size_t worker_count);
std::unique_ptr<Placer> MakeMaglevPlacer(const std::vector<std::string>& workers);

inline uint64_t HashBytes(std::string_view s, uint64_t seed) {
  return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

// The k-th rehash of a key hash (k = 0 is the hash itself): a SplitMix64 step, a portable integer
// bijection, so deriving a preference list never rehashes the key bytes.
inline uint64_t Rehash(uint64_t key_hash, uint64_t k) {
  if (k == 0) return key_hash;
  uint64_t z = key_hash + k * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Preference list for policies that map one hash to one worker (jump, maglev): the owner of
// Rehash(h, 0), then of Rehash(h, 1), ... skipping workers already picked. Asking for nearly all
// workers is a coupon-collector problem, so after a bounded number of tries the rest are filled
// by walking the sorted list from the last pick; still deterministic, just less random.
template <typename PickOne>  // uint32_t(uint64_t hash)
void PreferByRehash(uint64_t key_hash, size_t worker_count, Picks& picks, PickOne pick_one) {
  const uint64_t max_tries = 4 * static_cast<uint64_t>(worker_count) + 32;
  uint32_t last = 0;
  for (uint64_t k = 0; k < max_tries; ++k) {
    last = pick_one(Rehash(key_hash, k));
    if (picks.Add(last)) return;
  }
  for (size_t step = 1; !picks.full(); ++step) {
    picks.Add(static_cast<uint32_t>((last + step) % worker_count));
  }
}

}  // namespace alluvium::ring
