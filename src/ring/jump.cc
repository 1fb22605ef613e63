// src/ring/jump.cc
//
// Jump consistent hash (Lamping & Veach, 2014) over the sorted worker list: no state beyond the
// worker count, perfect balance in expectation, O(log N) time. It is consistent only when buckets
// are added or removed at the END of the list; our workers are sorted by id, so a worker joining
// or leaving in the middle renumbers its successors and remaps far more than 1/N of the keys
// (docs/hashing.md has the figures). Stateless after construction.
#include <limits>

#include "common/status.h"
#include "ring/placer.h"

namespace alluvium::ring {
namespace {

// The arithmetic is IEEE-754 double, exactly the same on every platform we build for (x86-64 SSE2,
// aarch64): no x87 excess precision.
static_assert(std::numeric_limits<double>::is_iec559);

uint32_t JumpHash(uint64_t key, uint32_t buckets) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) * (static_cast<double>(1LL << 31) /
                                                           static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

class JumpPlacer final : public Placer {
 public:
  explicit JumpPlacer(size_t worker_count) : worker_count_(static_cast<uint32_t>(worker_count)) {}

  void Prefer(uint64_t key_hash, Picks& picks) const override {
    PreferByRehash(key_hash, worker_count_, picks,
                   [this](uint64_t h) { return JumpHash(h, worker_count_); });
  }

 private:
  const uint32_t worker_count_;
};

}  // namespace

std::unique_ptr<Placer> MakeJumpPlacer(size_t worker_count) {
  ALLUVIUM_CHECK(worker_count > 0 && worker_count <= std::numeric_limits<uint32_t>::max());
  return std::make_unique<JumpPlacer>(worker_count);
}

}  // namespace alluvium::ring
