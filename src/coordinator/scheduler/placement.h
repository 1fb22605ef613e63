// Where load work goes: an immutable snapshot of the live workers' ring, rebuilt only when the
// membership changes, so the coordinator places segments exactly where clients will read them.
// Safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/coordinator_service.h"
#include "coordinator/membership/worker_registry.h"
#include "ring/ring.h"

namespace alluvium::coordinator {

struct PlacementSnapshot {
  std::shared_ptr<const ring::Ring> ring;
  std::map<std::string, std::string, std::less<>> address_of;  // live worker id -> host:port
  uint64_t segment_size = 0;

  // Up to n distinct live worker addresses for one segment, in ring preference order.
  std::vector<std::string> WorkersFor(std::string_view uri, uint64_t segment, size_t n) const;
};

class Placement {
 public:
  Placement(WorkerRegistry& workers, const RingSettings& settings);

  std::shared_ptr<const PlacementSnapshot> Current();

 private:
  WorkerRegistry& workers_;
  const RingSettings settings_;
  std::mutex mu_;
  uint64_t version_ = UINT64_MAX;                     // guarded by mu_
  std::shared_ptr<const PlacementSnapshot> current_;  // guarded by mu_
};

}  // namespace alluvium::coordinator
