// src/ring/file_placement.cc
//
// Bounded-load placement of one file's segments, rank by rank, computed lazily in index order.
#include "ring/file_placement.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "common/status.h"

namespace alluvium::ring {
namespace {

// Preference entries read per try beyond the ones a rank must skip: the first free worker is
// nearly always among them; otherwise the whole list is read.
constexpr size_t kPreferenceSlack = 3;

}  // namespace

uint64_t FilePlacement::SegmentCount(uint64_t length, uint64_t segment_size) {
  ALLUVIUM_CHECK(segment_size > 0);
  return length == 0 ? 1 : (length - 1) / segment_size + 1;
}

uint64_t FilePlacement::Cap(uint64_t segments, size_t workers) {
  ALLUVIUM_CHECK(workers > 0);
  const uint64_t n = workers;
  // Integers, so every process rounds alike; segments <= kMaxBalancedSegments keeps 115 * S small.
  return std::max((segments + n - 1) / n, segments * 115 / (n * 100));
}

FilePlacement::FilePlacement(std::shared_ptr<const Ring> ring, std::string_view uri,
                             uint64_t length, uint64_t segment_size)
    : ring_(std::move(ring)),
      uri_(uri),
      segments_(SegmentCount(length, segment_size)),
      balanced_(ring_ != nullptr && ring_->size() > 1 && Balanced(segments_)),
      cap_(balanced_ ? Cap(segments_, ring_->size()) : 0) {
  ALLUVIUM_CHECK(ring_ != nullptr);
}

std::string_view FilePlacement::KeyLocked(uint64_t segment) const {
  if (key_.empty()) key_ = uri_ + "#";
  key_.resize(uri_.size() + 1);
  fmt::format_to(std::back_inserter(key_), "{}", segment);
  return key_;
}

uint32_t FilePlacement::PlaceOne(size_t rank, uint64_t segment) const {
  const size_t n = ring_->size();
  // Workers holding a lower rank of this segment; at most kBalancedRanks - 1.
  std::array<uint32_t, kBalancedRanks> taken{};
  for (size_t r = 0; r < rank; ++r) taken[r] = ranks_[r].owner[segment];
  const auto is_taken = [&](uint32_t w) {
    return std::find(taken.begin(), taken.begin() + rank, w) != taken.begin() + rank;
  };
  if (rank + 1 == n) {  // the last rank is the one worker left, over the cap or not
    for (uint32_t w = 0; w < n; ++w) {
      if (!is_taken(w)) return w;
    }
  }
  const std::vector<uint64_t>& count = ranks_[rank].count;
  const std::string_view key = KeyLocked(segment);
  for (size_t want = std::min(n, rank + 1 + kPreferenceSlack);; want = n) {
    ring_->LookupIndices(key, want, preference_);
    for (uint32_t w : preference_) {
      if (!is_taken(w) && count[w] < cap_) return w;
    }
    if (want == n) break;
  }
  // Rank 0 always finds a worker under the cap (N * cap >= S). A higher rank may not, when the
  // workers with room all hold a lower rank of this segment.
  ALLUVIUM_CHECK(rank > 0);
  if (std::optional<uint32_t> w = ExchangeLocked(rank, segment)) return *w;
  // No exchange either (seen only at high ranks of files with fewer segments than workers): the
  // least loaded eligible worker, the earliest in preference order among equals, so the
  // overshoot is as small as it can be.
  ring_->LookupIndices(KeyLocked(segment), n, preference_);
  uint32_t best = 0;
  bool found = false;
  for (uint32_t w : preference_) {
    if (is_taken(w)) continue;
    if (!found || count[w] < count[best]) best = w;
    found = true;
  }
  ALLUVIUM_CHECK(found);
  return best;
}

std::optional<uint32_t> FilePlacement::ExchangeLocked(size_t rank, uint64_t segment) const {
  Rank& current = ranks_[rank];
  const size_t n = ring_->size();
  const auto holds_lower_rank = [&](uint64_t s, uint32_t w) {
    mu_.AssertHeld();  // called only here, where the caller holds it
    for (size_t r = 0; r < rank; ++r) {
      if (ranks_[r].owner[s] == w) return true;
    }
    return false;
  };
  std::vector<uint32_t> room;  // every one holds a lower rank of `segment`
  for (uint32_t w = 0; w < n; ++w) {
    if (current.count[w] < cap_) room.push_back(w);
  }
  std::vector<uint32_t> preference;
  // The first earlier segment whose worker at this rank `segment` may take, and that may move to
  // a worker with room: it moves (its next preference with room), and `segment` takes its place.
  // Never segment 0, which keeps its ring preference list.
  for (uint64_t t = 1; t < segment; ++t) {
    const uint32_t given = current.owner[t];
    if (holds_lower_rank(segment, given)) continue;
    if (std::all_of(room.begin(), room.end(), [&](uint32_t w) { return holds_lower_rank(t, w); })) {
      continue;
    }
    ring_->LookupIndices(KeyLocked(t), n, preference);
    for (uint32_t w : preference) {
      if (current.count[w] < cap_ && !holds_lower_rank(t, w)) {
        current.owner[t] = w;
        ++current.count[w];
        --current.count[given];
        return given;
      }
    }
  }
  return std::nullopt;
}

void FilePlacement::PlaceLocked(size_t ranks, uint64_t end) const {
  while (ranks_.size() < ranks) {
    ranks_.push_back({.owner = {}, .count = std::vector<uint64_t>(ring_->size(), 0)});
    ranks_.back().owner.reserve(segments_);
  }
  // Rank r of a segment needs ranks < r of it, and rank r of the segments before it. Ranks
  // above 0 are placed for the whole file at once: an exchange may change an earlier segment's.
  if (ranks > 1) end = segments_;
  for (size_t r = 0; r < ranks; ++r) {
    for (uint64_t s = ranks_[r].owner.size(); s < end; ++s) {
      const uint32_t w = PlaceOne(r, s);
      ranks_[r].owner.push_back(w);
      ++ranks_[r].count[w];
    }
  }
}

std::vector<std::string> FilePlacement::Workers(uint64_t segment, size_t n) const {
  n = std::min(n, ring_->size());
  if (n == 0) return {};
  if (!balanced_ || segment >= segments_) return ring_->Lookup(PlacementKey(uri_, segment), n);
  const size_t ranked = std::min(n, kBalancedRanks);
  std::array<uint32_t, kBalancedRanks> picked{};
  {
    MutexLock lock(mu_);
    PlaceLocked(ranked, segment + 1);
    for (size_t r = 0; r < ranked; ++r) picked[r] = ranks_[r].owner[segment];
  }
  const std::vector<std::string>& ids = ring_->workers();
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t r = 0; r < ranked; ++r) out.push_back(ids[picked[r]]);
  if (out.size() < n) {
    // Past the balanced ranks: the ring's order, without the workers already listed.
    for (std::string& id : ring_->Lookup(PlacementKey(uri_, segment), ring_->size())) {
      if (out.size() == n) break;
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
    }
  }
  return out;
}

const std::string& FilePlacement::Owner(uint64_t segment) const {
  ALLUVIUM_CHECK(!ring_->empty());
  if (!balanced_ || segment >= segments_) return ring_->Owner(PlacementKey(uri_, segment));
  uint32_t owner = 0;
  {
    MutexLock lock(mu_);
    PlaceLocked(1, segment + 1);
    owner = ranks_[0].owner[segment];
  }
  return ring_->workers()[owner];
}

}  // namespace alluvium::ring
