#include "coordinator/scheduler/load_report.h"

#include <vector>

#include <nlohmann/json.hpp>

namespace alluvium::coordinator {
namespace {

constexpr size_t kFilesPerChunk = 256;

struct FileLine {
  ufs::FileStatus status;
  std::vector<std::vector<std::string>> owners;  // per segment, addresses in ring order
  uint64_t resident = 0;
};

}  // namespace

Status WriteLoadReport(EntrySource& source, const PlacementSnapshot& placement,
                       WorkerLoadClient& workers, const LoadReportParams& params,
                       const std::function<void(const nlohmann::json&)>& line,
                       std::stop_token stop) {
  auto name = [&](const std::string& address) {
    return params.name ? params.name(address) : address;
  };
  bool done = false;
  while (!done) {
    if (stop.stop_requested()) return Cancelled("the report was cancelled");
    std::vector<FileLine> chunk;
    // Per worker: the segments to ask about, and which file each belongs to.
    std::map<std::string, std::pair<std::vector<SegmentRef>, std::vector<size_t>>> asks;
    while (chunk.size() < kFilesPerChunk) {
      ALLUVIUM_ASSIGN_OR_RETURN(std::optional<ufs::FileStatus> entry, source.Next());
      if (!entry) {
        done = true;
        break;
      }
      if (entry->is_directory) continue;
      FileLine& file = chunk.emplace_back();
      file.status = *entry;
      // An empty file has no segment to own or ask about.
      const std::vector<SegmentRef> segments =
          entry->length == 0 ? std::vector<SegmentRef>{}
                             : SegmentsOf(*entry, placement.segment_size, /*metadata_only=*/false);
      for (uint64_t s = 0; s < segments.size(); ++s) {
        file.owners.push_back(placement.WorkersFor(*entry, s, params.replicas));
        for (const std::string& address : file.owners.back()) {
          asks[address].first.push_back(segments[s]);
          asks[address].second.push_back(chunk.size() - 1);
        }
      }
    }
    if (!params.metadata_only) {
      for (const auto& [address, ask] : asks) {
        auto cached = workers.CachedBytes(address, ask.first, params.timeout);
        if (!cached.ok()) {
          return cached.status().WithContext(fmt::format("asking {} what it holds", name(address)));
        }
        for (size_t i = 0; i < cached->size(); ++i) chunk[ask.second[i]].resident += (*cached)[i];
      }
    }
    for (const FileLine& file : chunk) {
      nlohmann::json owners = nlohmann::json::array();
      for (const auto& segment : file.owners) {
        nlohmann::json ids = nlohmann::json::array();
        for (const std::string& address : segment) ids.push_back(name(address));
        owners.push_back(std::move(ids));
      }
      const uint64_t copies = file.status.length * params.replicas;
      const std::string error = params.failure_of ? params.failure_of(file.status.uri) : "";
      std::string status = file.resident >= copies ? "CACHED"
                           : file.resident > 0     ? "PARTIAL"
                                                   : "NOT_CACHED";
      if (params.metadata_only) status = "CACHED";
      if (!error.empty()) status = "FAILED";
      nlohmann::json j = {{"path", file.status.uri},
                          {"size", file.status.length},
                          {"version", file.status.version},
                          {"owners", std::move(owners)},
                          {"residentBytes", file.resident},
                          {"copyBytes", copies},
                          {"status", status}};
      if (!error.empty()) j["error"] = error;
      line(j);
    }
  }
  return OkStatus();
}

}  // namespace alluvium::coordinator
