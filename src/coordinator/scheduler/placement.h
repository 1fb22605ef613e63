// Where load work goes: an immutable snapshot of the live workers' ring, rebuilt only when the
// membership changes, so the coordinator places segments exactly where clients will read them:
// both place a file's segments with ring::FilePlacement. Safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/membership/worker_registry.h"
#include "ring/file_placement_cache.h"
#include "ring/ring.h"
#include "ufs/ufs.h"

namespace alluvium::coordinator {

struct PlacementSnapshot {
  std::shared_ptr<const ring::Ring> ring;
  std::map<std::string, std::string, std::less<>> address_of;  // live worker id -> host:port
  uint64_t segment_size = 0;
  // The balanced placements of the files being loaded, on `ring`; each placed once.
  std::unique_ptr<const ring::FilePlacementCache> files;

  // Up to n distinct live worker addresses for one segment of `file`, in its placement order
  // (ring/file_placement.h): [r] is where replica r goes, and the next ones are where to go when
  // those fail.
  std::vector<std::string> WorkersFor(const ufs::FileStatus& file, uint64_t segment,
                                      size_t n) const;
};

class Placement {
 public:
  Placement(WorkerRegistry& workers, const RingSettings& settings);

  std::shared_ptr<const PlacementSnapshot> Current();

 private:
  WorkerRegistry& workers_;
  const RingSettings settings_;
  Mutex mu_;
  uint64_t version_ GUARDED_BY(mu_) = UINT64_MAX;
  std::shared_ptr<const PlacementSnapshot> current_ GUARDED_BY(mu_);
};

}  // namespace alluvium::coordinator
