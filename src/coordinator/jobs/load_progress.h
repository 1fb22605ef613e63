// A snapshot of one load job's progress and its two renderings: Alluxio's TEXT report and a JSON
// object carrying every field. Pure value code.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coordinator/jobs/job_state.h"
#include "coordinator/jobs/load_options.h"

namespace alluvium::coordinator {

struct FailedFile {
  std::string path;
  std::string reason;  // e.g. "NOT_FOUND: file:///x: No such file or directory"
};

struct LoadProgress {
  std::string path;  // as submitted (a cache path or UFS URI), or the index file
  std::string job_id;
  JobState state = JobState::kRunning;
  std::string failure_reason;  // why a FAILED job failed
  LoadOptions options;
  int64_t start_ms = 0;  // wall clock, ms since the epoch
  int64_t end_ms = 0;    // 0 until the job leaves RUNNING/VERIFYING
  bool listing_done = false;
  bool total_known = false;  // bytes_total is the whole dataset's (counted, or listing done)

  uint64_t files_scanned = 0;    // listed and matching the filter (directories included)
  uint64_t files_processed = 0;  // finished: loaded, skipped or (finally) failed
  uint64_t files_skipped = 0;    // skipIfExists: already fully cached
  uint64_t files_failed = 0;
  uint64_t bytes_total = 0;              // bytes of every listed file segment copy (x replicas)
  uint64_t bytes_loaded = 0;             // read from the UFS into worker caches
  uint64_t bytes_skipped = 0;            // already cached
  uint64_t subtasks_total = 0;           // segment copies sent to workers
  uint64_t subtasks_failed = 0;          // finally failed
  uint64_t subtasks_retried = 0;         // retries sent
  std::vector<FailedFile> failed_files;  // the most recent failures (bounded), with reasons
  std::string failed_files_saved_to;     // where the full failed-file list was written
  // Workers whose disk has no room now (RESOURCE_EXHAUSTED), with why: the job retries there
  // with back-off instead of failing. Live only; empty once they take data again.
  std::map<std::string, std::string> waiting_for_space;
};

// Alluxio's layout: a header line, then one TAB-indented line per field:
//   Progress for loading path '/path':
//   \tSettings:\tbandwidth: unlimited\tverify: false
//   \tJob State: SUCCEEDED
//   \tFiles Processed: 1000
//   \tBytes Loaded: 125.00MB
//   \tThroughput: 2509.80KB/s
//   \tBlock load failure rate: 0.00%
//   \tFiles Failed: 0
// `now_ms` ends the elapsed time of a job still running (end_ms == 0).
// Other lines, in this order relative to the above:
//   \tSettings: ... \tmetadata-only: true     options.metadata_only
//   \tTime Elapsed: HH:MM:SS                   verbose (hours may exceed 24)
//   \tJob Id: <id>                             verbose
//   \tJob State: FAILED (<failure_reason>)     FAILED with a reason
//   \tStage: LISTING|LOADING|VERIFYING         verbose and RUNNING/VERIFYING
//   \tFiles Scanned: N                         verbose
//   \tFiles Skipped: N                         skip_if_exists, after Files Processed
//   \tBytes Loaded: <size> out of <size>       verbose, total_known (never with partial listing)
//   \tBytes Skipped: <size>                    skip_if_exists, after Bytes Loaded
//   (no Bytes lines and no Throughput for metadata_only; no Throughput under 1 s)
//   \tSubtask Retry rate: 0.00%                verbose, after Files Failed
//   \tFailed files:  then  \t\t<path>: <reason>  verbose, one per failed_files entry
//   \tFailed files saved to: <path>            failed_files_saved_to set
//   \tEviction: allowed (...)                  options.allow_eviction, after Settings
//   \tWaiting for space: <worker>: <why>       one per waiting_for_space entry, after Job State
// Rates are 0.00% (not Alluxio's NaN) when nothing was counted.
std::string FormatProgressText(const LoadProgress& progress, bool verbose, int64_t now_ms);

// Every field, machine-readable, with Alluxio's JSON key names (mJobState, mLoadedByteCount, ...)
// where one exists. Returns the serialised object.
std::string FormatProgressJson(const LoadProgress& progress, bool verbose, int64_t now_ms);

}  // namespace alluvium::coordinator
