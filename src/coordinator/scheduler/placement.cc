#include "coordinator/scheduler/placement.h"

#include <algorithm>

namespace alluvium::coordinator {

std::vector<std::string> PlacementSnapshot::WorkersFor(const ufs::FileStatus& file,
                                                       uint64_t segment, size_t n) const {
  std::vector<std::string> out;
  for (const std::string& id : files->Workers(file.uri, file.length, segment, n)) {
    auto it = address_of.find(id);
    if (it != address_of.end()) out.push_back(it->second);
  }
  return out;
}

Placement::Placement(WorkerRegistry& workers, const RingSettings& settings)
    : workers_(workers), settings_(settings) {}

std::shared_ptr<const PlacementSnapshot> Placement::Current() {
  const uint64_t version = workers_.version();
  MutexLock lock(mu_);
  if (current_ && version == version_) return current_;
  auto next = std::make_shared<PlacementSnapshot>();
  ring::RingOptions options;
  options.policy = ring::ParsePolicy(settings_.policy).value_or(ring::Policy::kKetama);
  if (settings_.virtual_nodes > 0) options.virtual_nodes = settings_.virtual_nodes;
  std::vector<std::string> live;
  for (const WorkerRecord& w : workers_.Snapshot()) {
    if (!w.live) continue;
    live.push_back(w.id);
    next->address_of[w.id] = w.address;
  }
  next->ring = ring::Ring::Build(std::move(live), options);
  next->segment_size = settings_.segment_size;
  // Clients get the same segment size (GetClusterInfo). At least 1, as in the load job's own
  // segment count, so that a zero setting cannot divide by zero.
  next->files = std::make_unique<const ring::FilePlacementCache>(
      next->ring, std::max<uint64_t>(next->segment_size, 1));
  current_ = std::move(next);
  version_ = version;
  return current_;
}

}  // namespace alluvium::coordinator
