// Sizes a load before it runs: lists its source (reading no data) and adds up, per worker, the
// segment copies the ring places there, against each worker's capacity. `dryRun` shows it, and a
// submit is refused when some worker's share exceeds its cache (unless allowEviction), so a job
// that cannot stay cached fails at once instead of evicting itself for hours.
#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "coordinator/jobs/load_options.h"
#include "coordinator/membership/worker_registry.h"
#include "coordinator/scheduler/entry_source.h"
#include "coordinator/scheduler/placement.h"

namespace alluvium::coordinator {

struct WorkerShare {
  std::string id;
  std::string address;
  uint64_t bytes = 0;     // segment copies of the job the ring places on this worker
  uint64_t capacity = 0;  // its page store's capacity; 0 until it has reported one
  uint64_t used = 0;      // cached there now (any job's)

  uint64_t free() const { return capacity > used ? capacity - used : 0; }
  // A worker that has not reported its capacity yet (just registered, or re-registering with a
  // restarted coordinator) is not held against the job: its pins still guard the load.
  bool fits() const { return capacity == 0 || bytes <= capacity; }
};

struct LoadSize {
  uint64_t files = 0;
  uint64_t bytes = 0;                // of the files, once
  uint64_t copy_bytes = 0;           // with replicas: what the workers will hold
  std::vector<WorkerShare> workers;  // every live worker, by id
  // Listed to the end. When the listing outgrew the bound, the figures are a lower bound.
  bool complete = true;
  std::optional<uint64_t> throughput;  // bytes/s the UFS gave recent jobs
  std::optional<uint64_t> estimated_seconds;

  bool fits() const;
  // "worker-1: 412.00MB of this job exceed its 300.00MB cache; ..." for each worker that does
  // not fit; empty when all do.
  std::string Overflow() const;
  nlohmann::json ToJson() const;
};

// Lists at most `max_entries` entries of `source`. Metadata-only jobs place no bytes.
Result<LoadSize> SizeLoad(EntrySource& source, const PlacementSnapshot& placement,
                          const std::vector<WorkerRecord>& workers, const LoadOptions& options,
                          uint64_t max_entries, std::stop_token stop = {});

}  // namespace alluvium::coordinator
