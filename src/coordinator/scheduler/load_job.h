// One load job at run time: walks its source (a UFS tree or an index file), splits files into
// segments, sends them in batches to the workers the hash ring names (replicas on distinct
// workers), retries failures with backoff on the next workers of the ring, optionally verifies,
// and keeps its progress. A driver thread lists and batches; sender threads make the worker
// RPCs, at most a few per worker at a time, so memory stays bounded whatever the dataset size.
// Without partial listing, a counter thread sizes the whole dataset beside the load, for the
// "out of" total; loading never waits for it.
//
// Durability: files finish out of order, so the job commits a cursor: the last URI in listing
// order up to which every file is done, together with the counters of those files. After a
// coordinator restart the job resumes after the cursor; workers skip pages they already hold,
// so files finished past the cursor are not read from the UFS again.
//
// The parts: the driver (load_job.cc), placing and sending (load_job_send.cc), what workers'
// answers do (load_job_outcomes.cc, with the retry policy in load_retry.h); beside them the
// record codec (jobs/load_job_record.h), the failed-file list (failed_file_list.h), the
// verifier (load_verifier.h) and the segment split (segments.h). Workers are reached through
// the WorkerLoadClient interface, so tests drive a job with a fake.
//
// Thread-safety: all public methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "coordinator/jobs/load_job_record.h"
#include "coordinator/jobs/load_progress.h"
#include "coordinator/scheduler/entry_source.h"
#include "coordinator/scheduler/failed_file_list.h"
#include "coordinator/scheduler/load_source.h"
#include "coordinator/scheduler/placement.h"
#include "coordinator/scheduler/worker_load_client.h"

namespace alluvium::coordinator {

struct LoadJobTuning {
  int max_attempts = 4;                            // per segment copy, the first included
  std::chrono::milliseconds retry_backoff{200};    // doubled per attempt, with jitter
  int inflight_per_worker = 4;                     // concurrent Load RPCs per worker
  uint64_t max_batch_bytes = 256ull << 20;         // a batch is also cut at this many bytes
  double failure_ratio_threshold = 0.0;            // failed/scanned above this => FAILED
  std::chrono::milliseconds commit_interval{500};  // how often progress is persisted
  std::filesystem::path failed_list_dir;           // where failed-file lists are written
  // Listed entries held ahead of the load. A listing that fits is read once and sizes the
  // dataset; past it, only the part beyond is listed twice (once to count).
  size_t listing_ahead_entries = 100'000;
  // A job with no live worker to load on for this long fails rather than wait forever.
  std::chrono::milliseconds no_worker_timeout{std::chrono::minutes(5)};
  // A segment whose worker has no disk space now (RESOURCE_EXHAUSTED) is retried there, with
  // back-off up to the second value, for this long before its file fails.
  std::chrono::milliseconds no_space_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds no_space_max_backoff{std::chrono::seconds(5)};
  // How long verification keeps asking a worker that does not answer: long enough for the
  // coordinator to declare it lost (twice its worker timeout).
  std::chrono::milliseconds worker_lost_wait{std::chrono::seconds(30)};
};

struct LoadJobEnv {
  Placement& placement;
  WorkerLoadClient& workers;
  FileSystemOpener open_fs;
  UriResolver resolve;
  std::function<void(const LoadJobRecord&)> persist;  // called from the job's threads
  // False while the membership is still being rebuilt after a coordinator restart.
  std::function<bool()> settled;
  // The registry's record of the worker at `address` (its id and capacity), when it knows one.
  std::function<std::optional<WorkerRecord>(const std::string& address)> worker_at;
  // Called from the job's driver thread, with no lock held, once the job has ended
  // (SUCCEEDED, FAILED or STOPPED; not on shutdown).
  std::function<void()> on_end;
  LoadJobTuning tuning;
};

class LoadJob {
 public:
  LoadJob(LoadJobRecord record, LoadJobEnv env);
  ~LoadJob();
  LoadJob(const LoadJob&) = delete;
  LoadJob& operator=(const LoadJob&) = delete;

  // Runs the job (its state must be RUNNING) on threads of its own. `target`: the target's
  // status if the caller has just read it (a submit checks that the target exists), so that
  // the listing starts without asking the UFS again.
  void Start(std::optional<ufs::FileStatus> target = {});
  // The user's stop: cancels the work in flight (workers drop it within a page, whatever the
  // job's bandwidth) and ends as STOPPED, durably, within about a second. Resubmitting resumes
  // from the committed cursor.
  void RequestStop();
  // Shutdown: cancels the calls in flight, stops the threads and leaves the job RUNNING in the
  // store, to resume later from its cursor.
  void Shutdown();

  LoadProgress Progress() const;
  // Every failed file with its reason (see failures_).
  std::map<std::string, std::string> Failures() const;
  LoadJobRecord Record() const;
  JobState state() const;

 private:
  struct FileState;
  struct Work;
  struct Batch;

  // load_job.cc: the driver.
  void Drive(std::stop_token stop);
  Status LoadPass(std::stop_token stop);
  Status VerifyPass(std::stop_token stop);
  // Where the job's files come from; `count_bad_lines`: an index line that names nothing counts
  // as a failed file (in the load, not in verification).
  LoadSourceSpec SourceSpec(bool count_bad_lines);
  // The load's listing from the cursor, read ahead (see ListingPrefetcher).
  Result<std::unique_ptr<EntrySource>> OpenPrefetchedSource();
  void AddFile(const ufs::FileStatus& status, std::stop_token stop);
  void MarkTotalKnownLocked(uint64_t bytes_total) REQUIRES(mu_);
  // The job has ended: every worker it loaded on releases its pins.
  void ReleasePins();
  void Finish(JobState state, std::string reason);

  // load_job_send.cc: placing and sending.
  void Place(std::unique_ptr<Work> work, std::stop_token stop);
  void Flush(const std::string& address, std::stop_token stop);
  void FlushAll(std::stop_token stop);
  void DispatchDueRetries(std::stop_token stop);
  void SendLoop(std::stop_token stop);

  // load_job_outcomes.cc: what the answers do.
  void OnBatchDone(Batch& batch, Result<std::vector<ItemOutcome>> outcomes);
  void FinishWorkLocked(Work& work, const Status& final_status) REQUIRES(mu_);
  void CommitLocked(bool force) REQUIRES(mu_);
  void RecordFailureLocked(const std::string& path, const std::string& reason) REQUIRES(mu_);
  // Appends the failures recorded since the last call to the failed-file list; called with no
  // lock held, so the job never waits for that file under mu_.
  void WriteFailedList();
  // The worker's id, or its address when the registry does not know it.
  std::string WorkerName(const std::string& address) const;
  // "worker-1: 412.0 MiB of this job exceed its 300.0 MiB cache", with the bytes placed so far.
  std::string OverCapacityLocked(const std::string& address) const REQUIRES(mu_);
  // A worker refused a segment because the job's pages fill its cache: the error that says so
  // with the numbers ("worker-1: 412 MiB of this job exceed its 300 MiB cache").
  Status CapacityFailureLocked(const std::string& address, const Status& refusal) REQUIRES(mu_);
  // Whether the worker's RESOURCE_EXHAUSTED (no room now) still earns the work another try.
  bool WaitForSpaceLocked(std::unique_ptr<Work>& work, const std::string& address,
                          const Status& refusal) REQUIRES(mu_);
  // The job's end reason for failed files: the count, and each worker that did not fit.
  std::string FailureReasonLocked() const REQUIRES(mu_);

  const LoadJobEnv env_;
  const std::string job_id_;
  const bool resumed_;  // started from a stored cursor
  // What was asked, constant for the job's life (record_ and live_ carry copies), so threads
  // read them without the lock.
  const LoadOptions options_;
  const std::string path_;  // the path as the user gave it
  const std::string target_uri_;
  const bool index_file_;

  mutable Mutex mu_;
  std::condition_variable_any changed_;
  LoadJobRecord record_ GUARDED_BY(mu_);                           // committed state
  LoadProgress live_ GUARDED_BY(mu_);                              // what progress shows
  std::deque<std::unique_ptr<FileState>> window_ GUARDED_BY(mu_);  // listed, not yet committed
  uint64_t next_seq_ GUARDED_BY(mu_) = 0;
  std::multimap<std::chrono::steady_clock::time_point, std::unique_ptr<Work>> retries_
      GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Batch>> send_queue_ GUARDED_BY(mu_);
  size_t in_flight_ GUARDED_BY(mu_) = 0;  // batches queued or being sent
  std::chrono::steady_clock::time_point last_commit_ GUARDED_BY(mu_);
  bool stop_requested_ GUARDED_BY(mu_) = false;  // the user's stop
  // Requested by a stop or shutdown: cancels the job's worker calls in flight. Replaced only by
  // Start, before any thread of the job runs.
  std::stop_source calls_;
  FailedFileSink failed_list_;
  // Failed paths recorded under mu_, for WriteFailedList to append outside it.
  std::vector<std::string> failed_unwritten_ GUARDED_BY(mu_);
  // Segment-copy bytes placed on each worker address, and the workers that refused segments for
  // want of cache.
  std::map<std::string, uint64_t> placed_bytes_ GUARDED_BY(mu_);
  std::set<std::string> over_capacity_ GUARDED_BY(mu_);
  // Workers in live_.waiting_for_space: address -> the name shown there.
  std::map<std::string, std::string> waiting_as_ GUARDED_BY(mu_);
  // Every file (or index line) that failed, with its reason, for verification to skip and for
  // the report. After a coordinator restart only the stored recent ones are known.
  std::map<std::string, std::string> failures_ GUARDED_BY(mu_);

  std::map<std::string, std::unique_ptr<Batch>> pending_;  // driver thread only
  // Since when Place has found no live worker (driver thread only); fails the job after
  // tuning.no_worker_timeout.
  std::optional<std::chrono::steady_clock::time_point> no_worker_since_;
  Status no_worker_;                            // driver thread only
  std::optional<std::regex> filter_;            // constant after construction
  std::optional<ufs::FileStatus> target_hint_;  // from Start; driver thread only, used once

  std::vector<std::jthread> senders_;
  std::jthread driver_;  // last: joined first
};

}  // namespace alluvium::coordinator
