// Checksums the read benchmarks use to prove that what they timed was the right bytes, so a
// broken read cannot look fast. Not thread-safe; one per stream.
//
// SampledSum folds 8 bytes at every 64 KiB of a stream, with their offsets, into one value:
// cheap enough to run inside every timed round of a GB/s read (16 Ki samples per GiB), and
// independent of how the stream was cut into chunks. It catches a short or long stream, zeros,
// stale data and bytes from the wrong offset; the warm-up rounds check a full XXH3 as well.
#pragma once

#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace alluvium::bench {

class SampledSum {
 public:
  static constexpr uint64_t kStride = 64 << 10;
  static constexpr uint64_t kWindow = 8;

  void Update(std::span<const std::byte> data) {
    const uint64_t begin = pos_;
    const uint64_t end = pos_ + data.size();
    for (uint64_t w = begin / kStride * kStride; w < end; w += kStride) {
      const uint64_t hi = std::min(w + kWindow, end);
      for (uint64_t i = std::max(w, begin); i < hi; ++i) {
        acc_ = (acc_ ^ (i << 8 | static_cast<uint8_t>(data[i - begin]))) * 0x100000001b3ULL;
      }
    }
    pos_ = end;
  }
  uint64_t bytes() const { return pos_; }
  uint64_t value() const { return acc_ ^ pos_; }

 private:
  uint64_t pos_ = 0;
  uint64_t acc_ = 0xcbf29ce484222325ULL;
};

// Streaming XXH3 of a whole stream.
class FullSum {
 public:
  FullSum() : state_(XXH3_createState()) { XXH3_64bits_reset_withSeed(state_, seed_); }
  explicit FullSum(uint64_t seed) : state_(XXH3_createState()), seed_(seed) {
    XXH3_64bits_reset_withSeed(state_, seed_);
  }
  ~FullSum() { XXH3_freeState(state_); }
  FullSum(const FullSum&) = delete;
  FullSum& operator=(const FullSum&) = delete;

  void Update(std::span<const std::byte> data) {
    XXH3_64bits_update(state_, data.data(), data.size());
  }
  uint64_t value() const { return XXH3_64bits_digest(state_); }

 private:
  XXH3_state_t* state_;
  uint64_t seed_ = 0;
};

// The sum of a set of files (or ranges) read in any order: the sum of each one's XXH3 seeded
// by its name (relative path, or offset), so the baseline and Alluvium can list them apart.
inline uint64_t NameSeed(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

}  // namespace alluvium::bench
