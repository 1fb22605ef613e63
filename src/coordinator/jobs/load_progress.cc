#include "coordinator/jobs/load_progress.h"

#include <algorithm>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/units.h"

namespace alluvium::coordinator {
namespace {

// End of the job if it has ended, else `now_ms`; never negative.
int64_t ElapsedMs(const LoadProgress& p, int64_t now_ms) {
  const int64_t end = p.end_ms != 0 ? p.end_ms : now_ms;
  return std::max<int64_t>(0, end - p.start_ms);
}

// Alluxio's throughput: bytes over whole elapsed seconds (integer division); none under 1 s.
std::optional<uint64_t> Throughput(const LoadProgress& p, int64_t elapsed_ms) {
  const auto seconds = static_cast<uint64_t>(elapsed_ms / 1000);
  if (seconds == 0) return std::nullopt;
  return p.bytes_loaded / seconds;
}

// A percentage; 0 (not Alluxio's NaN) when nothing was counted yet.
double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) * 100.0 / static_cast<double>(whole);
}

std::string_view Stage(const LoadProgress& p) {
  if (p.state == JobState::kVerifying) return "VERIFYING";
  return p.listing_done ? "LOADING" : "LISTING";
}

std::string FormatElapsed(int64_t ms) {
  const int64_t s = ms / 1000;
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

}  // namespace

std::string FormatProgressText(const LoadProgress& p, bool verbose, int64_t now_ms) {
  const LoadOptions& o = p.options;
  const int64_t elapsed_ms = ElapsedMs(p, now_ms);
  std::string out = fmt::format("Progress for loading path '{}':\n", p.path);
  auto line = [&out](std::string_view text) {
    out += '\t';
    out += text;
    out += '\n';
  };

  line(fmt::format("Settings:\tbandwidth: {}\tverify: {}{}",
                   o.bandwidth ? std::to_string(*o.bandwidth) : std::string("unlimited"), o.verify,
                   o.metadata_only ? "\tmetadata-only: true" : ""));
  if (o.allow_eviction) {
    line("Eviction: allowed (pages this job cached may have been evicted by its later ones)");
  }
  if (verbose) {
    line("Time Elapsed: " + FormatElapsed(elapsed_ms));
    line("Job Id: " + p.job_id);
  }
  std::string state = "Job State: " + std::string(JobStateName(p.state));
  if (p.state == JobState::kFailed && !p.failure_reason.empty()) {
    state += " (" + p.failure_reason + ")";
  }
  line(state);
  for (const auto& [worker, why] : p.waiting_for_space) {
    line("Waiting for space: " + worker + ": " + why);
  }
  if (verbose && IsActive(p.state)) line("Stage: " + std::string(Stage(p)));
  if (verbose) line(fmt::format("Files Scanned: {}", p.files_scanned));
  line(fmt::format("Files Processed: {}", p.files_processed));
  if (o.skip_if_exists) line(fmt::format("Files Skipped: {}", p.files_skipped));
  if (!o.metadata_only) {
    std::string loaded = "Bytes Loaded: " + FormatSize(p.bytes_loaded);
    if (verbose && !o.partial_listing && p.total_known) {
      loaded += " out of " + FormatSize(p.bytes_total);
    }
    line(loaded);
    if (o.skip_if_exists) line("Bytes Skipped: " + FormatSize(p.bytes_skipped));
    if (auto tp = Throughput(p, elapsed_ms)) line("Throughput: " + FormatSize(*tp) + "/s");
  }
  line(fmt::format("Block load failure rate: {:.2f}%",
                   Percent(p.subtasks_failed, p.subtasks_total)));
  line(fmt::format("Files Failed: {}", p.files_failed));
  if (verbose) {
    line(fmt::format("Subtask Retry rate: {:.2f}%", Percent(p.subtasks_retried, p.subtasks_total)));
    if (!p.failed_files.empty()) {
      line("Failed files:");
      for (const FailedFile& f : p.failed_files) line("\t" + f.path + ": " + f.reason);
    }
  }
  if (!p.failed_files_saved_to.empty()) line("Failed files saved to: " + p.failed_files_saved_to);
  return out;
}

std::string FormatProgressJson(const LoadProgress& p, bool verbose, int64_t now_ms) {
  using Json = nlohmann::ordered_json;
  const LoadOptions& o = p.options;
  const int64_t elapsed_ms = ElapsedMs(p, now_ms);
  const bool active = IsActive(p.state);

  Json j = Json::object();
  j["path"] = p.path;
  j["jobId"] = p.job_id;
  j["mJobState"] = JobStateName(p.state);
  j["mVerbose"] = verbose;
  if (o.bandwidth) j["mBandwidth"] = *o.bandwidth;
  j["mVerificationEnabled"] = o.verify;
  j["mSkipIfExists"] = o.skip_if_exists;
  j["mMetadataOnly"] = o.metadata_only;
  j["mPartialListing"] = o.partial_listing;
  j["mLoadedByteCount"] = p.bytes_loaded;
  j["mSkippedByteCount"] = p.bytes_skipped;
  if (!o.partial_listing) j["mTotalByteCount"] = p.bytes_total;
  if (auto tp = Throughput(p, elapsed_ms)) j["mThroughput"] = *tp;
  j["mScannedInodesCount"] = p.files_scanned;
  j["mProcessedInodesCount"] = p.files_processed;
  j["mProcessedFileCount"] = p.files_processed;
  j["mSkippedFileCount"] = p.files_skipped;
  j["mFailedFileCount"] = p.files_failed;
  j["mFailureFilesPercentage"] = Percent(p.files_failed, p.files_scanned);
  j["mFailureSubTasksPercentage"] = Percent(p.subtasks_failed, p.subtasks_total);
  j["mRetrySubTasksPercentage"] = Percent(p.subtasks_retried, p.subtasks_total);
  if (!p.failure_reason.empty()) j["mFailureReason"] = p.failure_reason;
  j["allowEviction"] = o.allow_eviction;
  if (!p.waiting_for_space.empty()) j["waitingForSpace"] = p.waiting_for_space;
  j["mRunningStage"] = verbose && active ? Stage(p) : "";
  j["mTimeElapsed"] = elapsed_ms;
  j["mStartTime"] = p.start_ms;
  if (!active && p.end_ms != 0) j["mEndTime"] = p.end_ms;
  if (!p.failed_files_saved_to.empty()) j["mFailedFileSavedPath"] = p.failed_files_saved_to;
  Json recent = Json::array();
  if (verbose) {
    Json with_reasons = Json::object();
    for (const FailedFile& f : p.failed_files) {
      with_reasons[f.path] = f.reason;
      recent.push_back(f.path + ": " + f.reason);
    }
    j["mFailedFilesWithReasons"] = std::move(with_reasons);
  }
  j["mRecentFailedSubtasksWithReasons"] = std::move(recent);
  // Paths and reasons come from users and the UFS: replace invalid UTF-8 rather than throw.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace alluvium::coordinator
