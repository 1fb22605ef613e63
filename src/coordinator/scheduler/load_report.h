// A load job's completion report: one JSON object per listed file with its size, version, the
// workers that own each segment (ring order, with replicas), the bytes of it they hold now, its
// status and, if it failed, why. Built on request by listing the job's source again and asking
// each worker what it holds (one CachedBytes call per worker per chunk of files), so it shows
// the cache as it is, not as it was.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stop_token>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "coordinator/scheduler/entry_source.h"
#include "coordinator/scheduler/placement.h"
#include "coordinator/scheduler/worker_load_client.h"

namespace alluvium::coordinator {

struct LoadReportParams {
  size_t replicas = 1;
  bool metadata_only = false;
  // Why a file failed in the job, if it did (empty: it did not).
  std::function<std::string(const std::string& uri)> failure_of;
  // A worker's id for its address (the address itself when unknown).
  std::function<std::string(const std::string& address)> name;
  std::chrono::milliseconds timeout{60'000};
};

// Calls `line` once per file, in listing order. Each line:
//   {"path": URI, "size": N, "version": V, "owners": [["w1","w2"], ...] (per segment),
//    "residentBytes": N (over all owners), "copyBytes": size x replicas,
//    "status": "CACHED" | "PARTIAL" | "NOT_CACHED" | "FAILED", "error": "..." (FAILED only)}
// An error if the listing fails or a worker cannot say what it holds.
Status WriteLoadReport(EntrySource& source, const PlacementSnapshot& placement,
                       WorkerLoadClient& workers, const LoadReportParams& params,
                       const std::function<void(const nlohmann::json&)>& line,
                       std::stop_token stop = {});

}  // namespace alluvium::coordinator
