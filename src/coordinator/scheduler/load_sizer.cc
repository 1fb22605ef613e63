#include "coordinator/scheduler/load_sizer.h"

#include <map>

#include <nlohmann/json.hpp>

#include "common/units.h"

namespace alluvium::coordinator {

bool LoadSize::fits() const {
  for (const WorkerShare& w : workers) {
    if (!w.fits()) return false;
  }
  return true;
}

std::string LoadSize::Overflow() const {
  std::string out;
  for (const WorkerShare& w : workers) {
    if (w.fits()) continue;
    if (!out.empty()) out += "; ";
    out += fmt::format("{}: {} of this job exceed its {} cache", w.id, FormatMiB(w.bytes),
                       FormatMiB(w.capacity));
  }
  return out;
}

nlohmann::json LoadSize::ToJson() const {
  nlohmann::json shares = nlohmann::json::array();
  for (const WorkerShare& w : workers) {
    shares.push_back({{"id", w.id},
                      {"address", w.address},
                      {"bytes", w.bytes},
                      {"capacityBytes", w.capacity},
                      {"usedBytes", w.used},
                      {"freeBytes", w.free()},
                      {"fits", w.fits()}});
  }
  nlohmann::json j = {{"files", files},    {"bytes", bytes}, {"copyBytes", copy_bytes},
                      {"workers", shares}, {"fits", fits()}, {"complete", complete}};
  if (throughput) j["throughputBytesPerSec"] = *throughput;
  if (estimated_seconds) j["estimatedSeconds"] = *estimated_seconds;
  return j;
}

Result<LoadSize> SizeLoad(EntrySource& source, const PlacementSnapshot& placement,
                          const std::vector<WorkerRecord>& workers, const LoadOptions& options,
                          uint64_t max_entries, std::stop_token stop) {
  LoadSize size;
  std::map<std::string, uint64_t> by_address;
  const uint64_t segment_size = std::max<uint64_t>(placement.segment_size, 1);
  uint64_t listed = 0;
  while (true) {
    if (stop.stop_requested()) return Cancelled("sizing the load was cancelled");
    if (listed >= max_entries) {
      size.complete = false;
      break;
    }
    ALLUVIUM_ASSIGN_OR_RETURN(std::optional<ufs::FileStatus> entry, source.Next());
    if (!entry) break;
    ++listed;
    if (entry->is_directory) continue;
    ++size.files;
    if (options.metadata_only) continue;
    size.bytes += entry->length;
    for (uint64_t offset = 0, s = 0; offset < entry->length; offset += segment_size, ++s) {
      const uint64_t length = std::min(segment_size, entry->length - offset);
      for (const std::string& address : placement.WorkersFor(*entry, s, options.replicas)) {
        by_address[address] += length;
        size.copy_bytes += length;
      }
    }
  }
  for (const WorkerRecord& w : workers) {
    if (!w.live) continue;
    size.workers.push_back({.id = w.id,
                            .address = w.address,
                            .bytes = by_address[w.address],
                            .capacity = w.stats.capacity_bytes,
                            .used = w.stats.used_bytes});
  }
  return size;
}

}  // namespace alluvium::coordinator
