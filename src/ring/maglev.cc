// src/ring/maglev.cc
//
// Maglev hashing (Eisenbud et al., NSDI 2016): each worker has a pseudo-random permutation of the
// slots of a prime-sized table, and workers take turns claiming their next free preferred slot
// until the table is full. Lookup is one table read; shares are within about table_size/N slots of
// each other. Membership changes move a little more than the changed worker's share, because
// slots are reassigned in turn order. Immutable after construction.
#include <algorithm>
#include <array>
#include <limits>

#include "common/status.h"
#include "ring/placer.h"

namespace alluvium::ring {
namespace {

// Prime table sizes. The paper wants the table well over 100 slots per worker to keep shares
// within about 1% of each other; 65537 covers up to 655 workers at 256 KB.
constexpr std::array<uint32_t, 5> kTableSizes = {65537, 131071, 262147, 524287, 1048583};

// Seeds that give each worker's permutation its offset and skip; any fixed, distinct values do.
constexpr uint64_t kOffsetSeed = 0x6d61676c65764f66ULL;  // "maglevOf"
constexpr uint64_t kSkipSeed = 0x6d61676c65765369ULL;    // "maglevSi"

uint32_t TableSizeFor(size_t worker_count) {
  for (uint32_t size : kTableSizes) {
    if (size >= 100 * worker_count) return size;
  }
  return kTableSizes.back();
}

class MaglevPlacer final : public Placer {
 public:
  explicit MaglevPlacer(const std::vector<std::string>& workers)
      : table_(TableSizeFor(workers.size()), kEmpty), worker_count_(workers.size()) {
    const uint64_t m = table_.size();
    const size_t n = workers.size();
    // Slot j of worker i's permutation is (offset + j * skip) mod m; since m is prime and
    // 1 <= skip < m, that visits every slot once.
    std::vector<uint64_t> offset(n), skip(n), next(n, 0);
    for (size_t i = 0; i < n; ++i) {
      offset[i] = HashBytes(workers[i], kOffsetSeed) % m;
      skip[i] = HashBytes(workers[i], kSkipSeed) % (m - 1) + 1;
    }
    uint64_t filled = 0;
    while (true) {
      for (size_t i = 0; i < n; ++i) {
        uint64_t slot = (offset[i] + next[i] * skip[i]) % m;
        while (table_[slot] != kEmpty) {
          ++next[i];
          slot = (offset[i] + next[i] * skip[i]) % m;
        }
        table_[slot] = static_cast<uint32_t>(i);
        ++next[i];
        if (++filled == m) return;
      }
    }
  }

  void Prefer(uint64_t key_hash, Picks& picks) const override {
    PreferByRehash(key_hash, worker_count_, picks,
                   [this](uint64_t h) { return table_[h % table_.size()]; });
  }

 private:
  static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();

  std::vector<uint32_t> table_;  // slot -> worker index
  const size_t worker_count_;
};

}  // namespace

std::unique_ptr<Placer> MakeMaglevPlacer(const std::vector<std::string>& workers) {
  ALLUVIUM_CHECK(!workers.empty() && workers.size() < std::numeric_limits<uint32_t>::max());
  return std::make_unique<MaglevPlacer>(workers);
}

}  // namespace alluvium::ring
