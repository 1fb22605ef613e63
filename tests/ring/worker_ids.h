// tests/ring/worker_ids.h
//
// Deterministic test data for the ring tests: UUID-like worker ids and a small PRNG.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace alluvium::ring {

// SplitMix64: deterministic "random" for test data, independent of the ring's own hashing.
inline uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// UUID-looking worker ids, the same on every run; `salt` gives a disjoint series.
inline std::vector<std::string> WorkerIds(size_t count, uint64_t salt = 0) {
  uint64_t state = salt * 1'000'003 + 42;
  std::vector<std::string> ids;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t a = SplitMix(state);
    const uint64_t b = SplitMix(state);
    ids.push_back(fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                              a & 0xfff, (b >> 48) | 0x8000, b & 0xffffffffffffULL));
  }
  return ids;
}

}  // namespace alluvium::ring
