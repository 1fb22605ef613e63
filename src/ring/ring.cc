// src/ring/ring.cc
//
// Ring construction, lookup dispatch to the policy's Placer, and the small free functions.
#include "ring/ring.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include <fmt/format.h>

#include "ring/placer.h"

namespace alluvium::ring {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::unique_ptr<const Placer> MakePlacer(const std::vector<std::string>& workers,
                                         const RingOptions& options) {
  if (workers.empty()) return nullptr;
  switch (options.policy) {
    case Policy::kKetama:
      return MakeKetamaPlacer(workers, options.virtual_nodes);
    case Policy::kJump:
      return MakeJumpPlacer(workers.size());
    case Policy::kMaglev:
      return MakeMaglevPlacer(workers);
  }
  ALLUVIUM_CHECK(false && "unknown policy");
  return nullptr;
}

// Keys are hashed with seed 0; each policy derives everything else from this one value.
uint64_t HashKey(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace

Result<Policy> ParsePolicy(std::string_view name) {
  for (Policy p : {Policy::kKetama, Policy::kJump, Policy::kMaglev}) {
    if (EqualsIgnoreCase(name, PolicyName(p))) return p;
  }
  return InvalidArgument(
      fmt::format("unknown worker selection policy '{}'; expected ketama, jump or maglev", name));
}

std::string_view PolicyName(Policy p) {
  switch (p) {
    case Policy::kKetama:
      return "ketama";
    case Policy::kJump:
      return "jump";
    case Policy::kMaglev:
      return "maglev";
  }
  return "unknown";
}

Status RingOptions::Validate() const {
  if (virtual_nodes < 1 || virtual_nodes > kMaxVirtualNodes) {
    return InvalidArgument(fmt::format("virtual node count per worker must be in [1, {}], got {}",
                                       kMaxVirtualNodes, virtual_nodes));
  }
  return OkStatus();
}

std::shared_ptr<const Ring> Ring::Build(std::vector<std::string> worker_ids,
                                        const RingOptions& options) {
  ALLUVIUM_CHECK(options.Validate().ok());
  // Sorting and deduplicating makes the ring a function of the set of ids, not of the order in
  // which membership reported them.
  std::sort(worker_ids.begin(), worker_ids.end());
  worker_ids.erase(std::unique(worker_ids.begin(), worker_ids.end()), worker_ids.end());
  // Not make_shared: the constructor is private.
  return std::shared_ptr<const Ring>(new Ring(std::move(worker_ids), options));
}

Ring::Ring(std::vector<std::string> workers, const RingOptions& options)
    : workers_(std::move(workers)), options_(options), placer_(MakePlacer(workers_, options_)) {}

Ring::~Ring() = default;

std::vector<std::string> Ring::Lookup(std::string_view key, size_t n) const {
  n = std::min(n, workers_.size());
  if (n == 0) return {};
  Picks picks(n, workers_.size());
  placer_->Prefer(HashKey(key), picks);
  ALLUVIUM_CHECK(picks.full());
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < picks.size(); ++i) out.push_back(workers_[picks[i]]);
  return out;
}

void Ring::LookupIndices(std::string_view key, size_t n, std::vector<uint32_t>& out) const {
  out.clear();
  n = std::min(n, workers_.size());
  if (n == 0) return;
  Picks picks(n, workers_.size());
  placer_->Prefer(HashKey(key), picks);
  ALLUVIUM_CHECK(picks.full());
  for (size_t i = 0; i < picks.size(); ++i) out.push_back(picks[i]);
}

const std::string& Ring::Owner(std::string_view key) const {
  ALLUVIUM_CHECK(!workers_.empty());
  Picks picks(1, workers_.size());
  placer_->Prefer(HashKey(key), picks);
  return workers_[picks[0]];
}

std::string PlacementKey(std::string_view ufs_uri, uint64_t segment_index) {
  return fmt::format("{}#{}", ufs_uri, segment_index);
}

}  // namespace alluvium::ring
