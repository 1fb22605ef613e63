// src/ring/ketama.cc
//
// Ketama: every worker owns `virtual_nodes` points on a 64-bit hash circle; a key belongs to the
// first point clockwise from its hash. The preference list keeps walking clockwise, collecting
// distinct workers. Removing a worker deletes only its points, so only its keys move, and each
// moves to the next distinct worker clockwise, which was its second preference. Immutable after
// construction.
#include <algorithm>
#include <numeric>

#include "common/status.h"
#include "ring/placer.h"

namespace alluvium::ring {
namespace {

class KetamaPlacer final : public Placer {
 public:
  KetamaPlacer(const std::vector<std::string>& workers, uint32_t virtual_nodes) {
    struct Point {
      uint64_t hash;
      uint32_t worker;
    };
    std::vector<Point> points;
    points.reserve(workers.size() * virtual_nodes);
    for (uint32_t w = 0; w < workers.size(); ++w) {
      // Point v of a worker is its id hashed with seed v: no string building, and raising the
      // count keeps the existing points.
      for (uint32_t v = 0; v < virtual_nodes; ++v) {
        points.push_back({HashBytes(workers[w], v), w});
      }
    }
    // Ties (two equal 64-bit hashes) are broken by worker index, which comes from the sorted ids,
    // so even they are the same in every process.
    std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.worker < b.worker;
    });
    // Hashes apart from owners: the binary search touches only the dense hash array.
    hashes_.reserve(points.size());
    owners_.reserve(points.size());
    for (const Point& p : points) {
      hashes_.push_back(p.hash);
      owners_.push_back(p.worker);
    }
  }

  void Prefer(uint64_t key_hash, Picks& picks) const override {
    const size_t count = hashes_.size();
    size_t i = std::lower_bound(hashes_.begin(), hashes_.end(), key_hash) - hashes_.begin();
    // Every worker has at least one point, so one full turn always fills `picks`.
    for (size_t step = 0; step < count; ++step, ++i) {
      if (i == count) i = 0;  // past the largest point: wrap around the circle
      if (picks.Add(owners_[i])) return;
    }
  }

 private:
  std::vector<uint64_t> hashes_;  // sorted
  std::vector<uint32_t> owners_;  // owners_[i] owns hashes_[i]
};

}  // namespace

std::unique_ptr<Placer> MakeKetamaPlacer(const std::vector<std::string>& workers,
                                         uint32_t virtual_nodes) {
  ALLUVIUM_CHECK(!workers.empty() && virtual_nodes > 0);
  return std::make_unique<KetamaPlacer>(workers, virtual_nodes);
}

}  // namespace alluvium::ring
