// All load jobs of the coordinator: one live job per target (a path's UFS URI, or an index
// file), Alluxio's resubmit rules (running: "already running"; stopped: resume; finished: a new
// run), a cap on running jobs, durable records in the coordinator store (running jobs resume
// after a restart), and retention of finished jobs. Safe for concurrent use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/mutex.h"
#include "coordinator/jobs/load_progress.h"
#include "coordinator/mounts/mount_manager.h"
#include "coordinator/scheduler/load_job.h"
#include "coordinator/scheduler/load_report.h"
#include "coordinator/scheduler/load_sizer.h"
#include "coordinator/store/kv_store.h"

namespace alluvium::coordinator {

struct JobManagerOptions {
  std::chrono::milliseconds retention{7 * 24 * 3600 * 1000LL};
  size_t max_active = 100;
  LoadJobTuning tuning;
  // alluvium.underfs.* settings; a mount's options override them for its root.
  std::map<std::string, std::string> ufs_properties;

  static JobManagerOptions FromConfig(const Config& config, const std::filesystem::path& data_dir);
};

struct SubmitOutcome {
  std::string job_id;
  // kRefused: some worker's share exceeds its cache (see `size`); no job was made.
  enum class Kind { kStarted, kResumed, kAlreadyRunning, kRefused } kind = Kind::kStarted;
  std::optional<LoadSize> size;  // for kRefused
};

class JobManager {
 public:
  static Result<std::unique_ptr<JobManager>> Open(KvStore& store, MountManager& mounts,
                                                  WorkerRegistry& registry, Placement& placement,
                                                  WorkerLoadClient& workers,
                                                  JobManagerOptions options);
  ~JobManager();

  // `path` is a cache path or UFS URI (of the data, or of the index file when index_file).
  // kFailedPrecondition outside every mount, kNotFound if nothing is there, kResourceExhausted
  // for too many running jobs, kFailedPrecondition with no live worker or fewer than replicas.
  // Unless allowEviction (or partialListing, or metadata only), the dataset is listed first, up
  // to the listing bound, and a job some worker's share of which exceeds its cache is refused.
  Result<SubmitOutcome> Submit(const std::string& path, bool index_file, LoadOptions options);
  // The dry run: lists the whole dataset (up to a large bound) and sizes the job, with an
  // estimated duration from the UFS throughput of recent jobs. Starts nothing.
  Result<LoadSize> Size(const std::string& path, bool index_file, const LoadOptions& options);
  // The job's completion report (load_report.h), one line per file, as the cache is now.
  // kNotFound when no job is known for the path.
  Status Report(const std::string& path, bool index_file,
                const std::function<void(const nlohmann::json&)>& line);
  // kNotFound when no job runs for the path.
  Status Stop(const std::string& path, bool index_file);
  // kNotFound when no job is known for the path. A positive `wait_for_end` first waits up to
  // that long for a running job to end, so a client following a job hears of its end at once
  // instead of at its next poll.
  Result<LoadProgress> Progress(const std::string& path, bool index_file,
                                std::chrono::milliseconds wait_for_end = {});
  std::vector<LoadProgress> List(std::optional<JobState> state);

  // Ends every Progress wait now and makes later ones return at once (before the REST server
  // joins its connections).
  void EndWaits();
  void Shutdown();  // stops every job's threads; running jobs stay RUNNING in the store

  JobManager(KvStore& store, MountManager& mounts, WorkerRegistry& registry, Placement& placement,
             WorkerLoadClient& workers, JobManagerOptions options);

 private:
  Result<std::pair<std::string, std::string>> Identify(const std::string& path, bool index_file);
  LoadJobEnv EnvFor();
  Result<LoadSize> SizeOf(const std::string& uri, bool index_file, const LoadOptions& options,
                          std::optional<ufs::FileStatus> target, uint64_t max_entries);
  // The files a job on `uri` loads, listed from the start.
  Result<std::unique_ptr<EntrySource>> SourceOf(const std::string& uri, bool index_file,
                                                const LoadOptions& options,
                                                std::optional<ufs::FileStatus> target);
  // Bytes/s loaded by the most recent finished jobs that read from the UFS; none without any.
  std::optional<uint64_t> RecentThroughput();
  // The UFS holding `uri`, opened with the settings of its mount.
  Result<std::shared_ptr<ufs::FileSystem>> OpenUfs(std::string_view uri);
  void Persist(const LoadJobRecord& record);
  void Sweep();
  void SweepLoop(std::stop_token stop);

  KvStore& store_;
  MountManager& mounts_;
  WorkerRegistry& registry_;
  Placement& placement_;
  WorkerLoadClient& workers_;
  const JobManagerOptions options_;

  Mutex mu_;  // guards jobs_; never held while a job joins its threads
  std::map<std::string, std::unique_ptr<LoadJob>> jobs_;
  std::condition_variable_any job_ended_;  // with mu_: a job ended, or EndWaits
  bool waits_ended_ GUARDED_BY(mu_) = false;
  std::jthread sweeper_;  // last
};

}  // namespace alluvium::coordinator
