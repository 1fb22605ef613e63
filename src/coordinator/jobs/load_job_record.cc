#include "coordinator/jobs/load_job_record.h"

#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace alluvium::coordinator {
namespace {

// The whole number at `key` (json::out_of_range if absent). nlohmann's get<T> converts any number,
// with undefined behaviour when it does not fit (1e300, or -1 as a count): refuse those instead.
template <typename T>
Result<T> WholeNumber(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (v.is_number_unsigned() &&
      v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())) {
    return static_cast<T>(v.get<uint64_t>());
  }
  if (std::is_signed_v<T> && v.is_number_integer() && !v.is_number_unsigned()) {
    return static_cast<T>(v.get<int64_t>());
  }
  return DataLoss(fmt::format("corrupt job record: '{}' is not a whole number", key));
}

}  // namespace

nlohmann::json LoadJobRecord::ToJson() const {
  const LoadProgress& p = progress;
  nlohmann::json failed = nlohmann::json::array();
  for (const FailedFile& f : p.failed_files) failed.push_back({f.path, f.reason});
  return {{"key", key},
          {"targetUri", target_uri},
          {"indexFile", index_file},
          {"cursor", cursor},
          {"countDone", p.total_known},
          {"path", p.path},
          {"jobId", p.job_id},
          {"state", JobStateName(p.state)},
          {"failureReason", p.failure_reason},
          {"options", LoadOptionsToJson(p.options)},
          {"startMs", p.start_ms},
          {"endMs", p.end_ms},
          {"listingDone", p.listing_done},
          {"filesScanned", p.files_scanned},
          {"filesProcessed", p.files_processed},
          {"filesSkipped", p.files_skipped},
          {"filesFailed", p.files_failed},
          {"bytesTotal", p.bytes_total},
          {"bytesLoaded", p.bytes_loaded},
          {"bytesSkipped", p.bytes_skipped},
          {"subtasksTotal", p.subtasks_total},
          {"subtasksFailed", p.subtasks_failed},
          {"subtasksRetried", p.subtasks_retried},
          {"failedFiles", failed},
          {"failedFilesSavedTo", p.failed_files_saved_to}};
}

Result<LoadJobRecord> LoadJobRecord::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return DataLoss("job record is not an object");
  LoadJobRecord r;
  LoadProgress& p = r.progress;
  try {
    r.key = j.at("key").get<std::string>();
    r.target_uri = j.at("targetUri").get<std::string>();
    r.index_file = j.at("indexFile").get<bool>();
    r.cursor = j.at("cursor").get<std::string>();
    p.total_known = j.at("countDone").get<bool>();
    p.path = j.at("path").get<std::string>();
    p.job_id = j.at("jobId").get<std::string>();
    ALLUVIUM_ASSIGN_OR_RETURN(p.state, ParseJobState(j.at("state").get<std::string>()));
    p.failure_reason = j.at("failureReason").get<std::string>();
    ALLUVIUM_ASSIGN_OR_RETURN(p.options, ParseLoadOptions(j.at("options")));
    ALLUVIUM_ASSIGN_OR_RETURN(p.start_ms, WholeNumber<int64_t>(j, "startMs"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.end_ms, WholeNumber<int64_t>(j, "endMs"));
    p.listing_done = j.at("listingDone").get<bool>();
    ALLUVIUM_ASSIGN_OR_RETURN(p.files_scanned, WholeNumber<uint64_t>(j, "filesScanned"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.files_processed, WholeNumber<uint64_t>(j, "filesProcessed"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.files_skipped, WholeNumber<uint64_t>(j, "filesSkipped"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.files_failed, WholeNumber<uint64_t>(j, "filesFailed"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.bytes_total, WholeNumber<uint64_t>(j, "bytesTotal"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.bytes_loaded, WholeNumber<uint64_t>(j, "bytesLoaded"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.bytes_skipped, WholeNumber<uint64_t>(j, "bytesSkipped"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.subtasks_total, WholeNumber<uint64_t>(j, "subtasksTotal"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.subtasks_failed, WholeNumber<uint64_t>(j, "subtasksFailed"));
    ALLUVIUM_ASSIGN_OR_RETURN(p.subtasks_retried, WholeNumber<uint64_t>(j, "subtasksRetried"));
    for (const auto& f : j.at("failedFiles")) {
      p.failed_files.push_back({f.at(0).get<std::string>(), f.at(1).get<std::string>()});
    }
    p.failed_files_saved_to = j.at("failedFilesSavedTo").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(std::string("corrupt job record: ") + e.what());
  }
  return r;
}

}  // namespace alluvium::coordinator
