#include "coordinator/scheduler/job_manager.h"

#include <random>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/logging.h"
#include "common/sleep.h"
#include "ufs/ufs_factory.h"

namespace alluvium::coordinator {
namespace {

constexpr std::string_view kStorePrefix = "job/";

std::string NewJobId() {
  std::random_device random;
  std::uniform_int_distribution<uint32_t> dist;
  const uint32_t a = dist(random), b = dist(random), c = dist(random), d = dist(random);
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:04x}{:08x}", a, b >> 16, b & 0xfff,
                     (c & 0x3fff) | 0x8000, c >> 16, d);
}

}  // namespace

JobManagerOptions JobManagerOptions::FromConfig(const Config& config,
                                                const std::filesystem::path& data_dir) {
  JobManagerOptions o;
  o.retention = config.GetDuration(keys::kJobRetentionTime);
  o.max_active = static_cast<size_t>(std::max<int64_t>(1, config.GetInt(keys::kJobMaxActive)));
  o.tuning.max_attempts =
      static_cast<int>(std::max<int64_t>(1, config.GetInt(keys::kJobLoadMaxAttempts)));
  o.tuning.failure_ratio_threshold = config.GetDouble(keys::kJobLoadFailureRatio);
  o.tuning.inflight_per_worker =
      static_cast<int>(std::max<int64_t>(1, config.GetInt(keys::kJobLoadInflightPerWorker)));
  o.tuning.listing_ahead_entries =
      static_cast<size_t>(std::max<int64_t>(1, config.GetInt(keys::kJobLoadListingAhead)));
  o.tuning.no_worker_timeout = config.GetDuration(keys::kJobLoadNoWorkerTimeout);
  o.tuning.no_space_timeout = config.GetDuration(keys::kJobLoadNoSpaceTimeout);
  o.tuning.worker_lost_wait = 2 * config.GetDuration(keys::kCoordinatorWorkerTimeout);
  o.tuning.failed_list_dir = data_dir / "job_results" / "load";
  o.ufs_properties = config.ValuesWithPrefix("alluvium.underfs.");
  return o;
}

JobManager::JobManager(KvStore& store, MountManager& mounts, WorkerRegistry& registry,
                       Placement& placement, WorkerLoadClient& workers, JobManagerOptions options)
    : store_(store),
      mounts_(mounts),
      registry_(registry),
      placement_(placement),
      workers_(workers),
      options_(std::move(options)) {}

JobManager::~JobManager() { Shutdown(); }

Result<std::unique_ptr<JobManager>> JobManager::Open(KvStore& store, MountManager& mounts,
                                                     WorkerRegistry& registry, Placement& placement,
                                                     WorkerLoadClient& workers,
                                                     JobManagerOptions options) {
  auto manager = std::make_unique<JobManager>(store, mounts, registry, placement, workers, options);
  std::vector<LoadJobRecord> records;
  ALLUVIUM_RETURN_IF_ERROR(
      store.Scan(kStorePrefix, [&](std::string_view key, std::string_view value) {
        auto json = nlohmann::json::parse(value, nullptr, false);
        auto record = LoadJobRecord::FromJson(json);
        if (!record.ok()) {
          ALLUVIUM_LOG(ERROR, "dropping unreadable job record {}: {}", key, record.status());
          return true;
        }
        records.push_back(std::move(*record));
        return true;
      }));
  for (LoadJobRecord& record : records) {
    const bool resume = IsActive(record.progress.state);
    const std::string key = record.key;
    auto job = std::make_unique<LoadJob>(std::move(record), manager->EnvFor());
    if (resume) job->Start();
    manager->jobs_[key] = std::move(job);
  }
  ALLUVIUM_LOG(INFO, "job manager: {} jobs restored", manager->jobs_.size());
  manager->sweeper_ =
      std::jthread([m = manager.get()](std::stop_token stop) { m->SweepLoop(stop); });
  return manager;
}

LoadJobEnv JobManager::EnvFor() {
  MountManager& mounts = mounts_;
  return LoadJobEnv{.placement = placement_,
                    .workers = workers_,
                    .open_fs = [this](std::string_view uri) { return OpenUfs(uri); },
                    .resolve = [&mounts](std::string_view path) -> Result<std::string> {
                      ALLUVIUM_ASSIGN_OR_RETURN(mounts::Resolved r,
                                                mounts.Snapshot()->ResolveAny(path));
                      return r.ufs_uri;
                    },
                    .persist = [this](const LoadJobRecord& record) { Persist(record); },
                    .settled = [this] { return registry_.Settled(); },
                    .worker_at = [this](const std::string& address) -> std::optional<WorkerRecord> {
                      for (WorkerRecord& w : registry_.Snapshot()) {
                        if (w.address == address) return std::move(w);
                      }
                      return std::nullopt;
                    },
                    .on_end =
                        [this] {
                          // Taking mu_ orders this after a waiter's check of the job's state,
                          // so the wakeup cannot fall between its check and its wait.
                          { MutexLock lock(mu_); }
                          job_ended_.notify_all();
                        },
                    .tuning = options_.tuning};
}

Result<std::shared_ptr<ufs::FileSystem>> JobManager::OpenUfs(std::string_view uri) {
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::Uri parsed, ufs::Uri::Parse(uri));
  ufs::UfsOptions options{
      .properties = mounts_.Snapshot()->UfsPropertiesFor(parsed.Root(), options_.ufs_properties)};
  ALLUVIUM_ASSIGN_OR_RETURN(auto fs, ufs::OpenFileSystem(parsed, options));
  return std::shared_ptr<ufs::FileSystem>(std::move(fs));
}

void JobManager::Persist(const LoadJobRecord& record) {
  Status st = store_.Put(std::string(kStorePrefix) + record.key, record.ToJson().dump());
  if (!st.ok()) ALLUVIUM_LOG(ERROR, "cannot persist job {}: {}", record.progress.job_id, st);
}

Result<std::pair<std::string, std::string>> JobManager::Identify(const std::string& path,
                                                                 bool index_file) {
  if (path.empty()) return InvalidArgument(index_file ? "indexFile is empty" : "path is empty");
  auto resolved = mounts_.Snapshot()->ResolveAny(path);
  if (!resolved.ok()) {
    if (resolved.status().code() == Code::kNotFound) {
      return FailedPrecondition(resolved.status().message());
    }
    return resolved.status();
  }
  std::string uri = resolved->ufs_uri;
  // "s3://b/dir/" and "s3://b/dir" (or "/data" and its UFS URI) are one job.
  std::string key = uri;
  while (key.size() > 1 && key.back() == '/' && !key.ends_with(":///") && !key.ends_with("://")) {
    key.pop_back();
  }
  return std::make_pair((index_file ? "index:" : "load:") + key, uri);
}

Result<SubmitOutcome> JobManager::Submit(const std::string& path, bool index_file,
                                         LoadOptions options) {
  ALLUVIUM_RETURN_IF_ERROR(options.Validate());
  ALLUVIUM_ASSIGN_OR_RETURN(auto identity, Identify(path, index_file));
  const auto& [key, uri] = identity;

  const size_t live_workers = placement_.Current()->address_of.size();
  if (live_workers == 0) return FailedPrecondition("no live worker to load on");
  if (options.replicas > live_workers) {
    return FailedPrecondition(fmt::format("replicas {} is more than the {} live workers",
                                          options.replicas, live_workers));
  }
  // Fail fast on a target that does not exist, before a job is recorded.
  ALLUVIUM_ASSIGN_OR_RETURN(auto fs, OpenUfs(uri));
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::FileStatus target, fs->GetStatus(uri));
  if (index_file && target.is_directory) {
    return InvalidArgument(fmt::format("index file {} is a directory", uri));
  }

  if (!options.allow_eviction && !options.partial_listing && !options.metadata_only &&
      !options.dry_run) {
    ALLUVIUM_ASSIGN_OR_RETURN(LoadSize size, SizeOf(uri, index_file, options, target,
                                                    options_.tuning.listing_ahead_entries));
    if (size.complete && !size.fits()) {
      return SubmitOutcome{.kind = SubmitOutcome::Kind::kRefused, .size = std::move(size)};
    }
  }

  std::unique_ptr<LoadJob> replaced;  // destroyed outside the lock
  MutexLock lock(mu_);
  auto it = jobs_.find(key);
  if (it != jobs_.end() && IsActive(it->second->state())) {
    return SubmitOutcome{it->second->Progress().job_id, SubmitOutcome::Kind::kAlreadyRunning};
  }
  const size_t active = std::count_if(jobs_.begin(), jobs_.end(),
                                      [](const auto& j) { return IsActive(j.second->state()); });
  if (active >= options_.max_active) {
    return ResourceExhausted("Too many jobs running, please submit later.");
  }
  if (it != jobs_.end() && it->second->state() == JobState::kStopped) {
    LoadJobRecord record = it->second->Record();
    record.progress.options = options;  // Alluxio updates the options on resume
    record.progress.state = JobState::kRunning;
    record.progress.end_ms = 0;
    replaced = std::move(it->second);
    it->second = std::make_unique<LoadJob>(std::move(record), EnvFor());
    it->second->Start(std::move(target));
    return SubmitOutcome{it->second->Progress().job_id, SubmitOutcome::Kind::kResumed};
  }
  LoadJobRecord record;
  record.key = key;
  record.target_uri = uri;
  record.index_file = index_file;
  record.progress.path = path;
  record.progress.job_id = NewJobId();
  record.progress.options = std::move(options);
  record.progress.start_ms = UnixMillis();
  Persist(record);
  auto job = std::make_unique<LoadJob>(std::move(record), EnvFor());
  job->Start(std::move(target));
  const std::string id = job->Progress().job_id;
  if (it != jobs_.end()) replaced = std::move(it->second);
  jobs_[key] = std::move(job);
  return SubmitOutcome{id, SubmitOutcome::Kind::kStarted};
}

Result<LoadSize> JobManager::Size(const std::string& path, bool index_file,
                                  const LoadOptions& options) {
  ALLUVIUM_RETURN_IF_ERROR(options.Validate());
  ALLUVIUM_ASSIGN_OR_RETURN(auto identity, Identify(path, index_file));
  const std::string& uri = identity.second;
  if (placement_.Current()->address_of.empty()) {
    return FailedPrecondition("no live worker to load on");
  }
  ALLUVIUM_ASSIGN_OR_RETURN(auto fs, OpenUfs(uri));
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::FileStatus target, fs->GetStatus(uri));
  if (index_file && target.is_directory) {
    return InvalidArgument(fmt::format("index file {} is a directory", uri));
  }
  constexpr uint64_t kDryRunMaxEntries = 10'000'000;
  ALLUVIUM_ASSIGN_OR_RETURN(LoadSize size,
                            SizeOf(uri, index_file, options, std::move(target), kDryRunMaxEntries));
  size.throughput = RecentThroughput();
  if (size.throughput && *size.throughput > 0) {
    // Bytes already cached are skipped at no UFS cost only with skipIfExists; count them all.
    size.estimated_seconds = (size.copy_bytes + *size.throughput - 1) / *size.throughput;
  }
  return size;
}

Result<LoadSize> JobManager::SizeOf(const std::string& uri, bool index_file,
                                    const LoadOptions& options,
                                    std::optional<ufs::FileStatus> target, uint64_t max_entries) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto source, SourceOf(uri, index_file, options, std::move(target)));
  return SizeLoad(*source, *placement_.Current(), registry_.Snapshot(), options, max_entries);
}

Result<std::unique_ptr<EntrySource>> JobManager::SourceOf(const std::string& uri, bool index_file,
                                                          const LoadOptions& options,
                                                          std::optional<ufs::FileStatus> target) {
  std::optional<std::regex> filter;
  if (!options.file_filter_regex.empty()) {
    filter.emplace(options.file_filter_regex, std::regex::ECMAScript);  // validated
  }
  if (index_file) {
    LoadJobEnv env = EnvFor();
    return OpenIndexSource(env.open_fs, env.resolve, uri, filter,
                           [](const std::string&, const Status&) {});
  }
  ALLUVIUM_ASSIGN_OR_RETURN(auto fs, OpenUfs(uri));
  return OpenTreeSource(fs, uri, "", filter, std::move(target));
}

Status JobManager::Report(const std::string& path, bool index_file,
                          const std::function<void(const nlohmann::json&)>& line) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto identity, Identify(path, index_file));
  LoadJobRecord record;
  std::map<std::string, std::string> failures;
  {
    MutexLock lock(mu_);
    auto it = jobs_.find(identity.first);
    if (it == jobs_.end())
      return NotFound(fmt::format("Load for path '{}' cannot be found.", path));
    record = it->second->Record();
    failures = it->second->Failures();
  }
  const LoadOptions& options = record.progress.options;
  ALLUVIUM_ASSIGN_OR_RETURN(auto source, SourceOf(record.target_uri, index_file, options, {}));
  std::map<std::string, std::string> id_of;
  for (const WorkerRecord& w : registry_.Snapshot()) id_of[w.address] = w.id;
  return WriteLoadReport(*source, *placement_.Current(), workers_,
                         {.replicas = options.replicas,
                          .metadata_only = options.metadata_only,
                          .failure_of =
                              [&failures](const std::string& uri) {
                                auto it = failures.find(uri);
                                return it == failures.end() ? std::string() : it->second;
                              },
                          .name =
                              [&id_of](const std::string& address) {
                                auto it = id_of.find(address);
                                return it == id_of.end() ? address : it->second;
                              }},
                         line);
}

std::optional<uint64_t> JobManager::RecentThroughput() {
  std::vector<LoadProgress> finished;
  {
    MutexLock lock(mu_);
    for (const auto& [key, job] : jobs_) {
      LoadProgress p = job->Progress();
      if (!IsActive(p.state) && p.end_ms > p.start_ms && p.bytes_loaded > 0) {
        finished.push_back(std::move(p));
      }
    }
  }
  if (finished.empty()) return std::nullopt;
  std::sort(finished.begin(), finished.end(),
            [](const LoadProgress& a, const LoadProgress& b) { return a.end_ms > b.end_ms; });
  constexpr size_t kRecentJobs = 5;
  uint64_t bytes = 0, ms = 0;
  for (size_t i = 0; i < std::min(kRecentJobs, finished.size()); ++i) {
    bytes += finished[i].bytes_loaded;
    ms += static_cast<uint64_t>(finished[i].end_ms - finished[i].start_ms);
  }
  return ms == 0 ? std::nullopt : std::optional<uint64_t>(bytes * 1000 / ms);
}

Status JobManager::Stop(const std::string& path, bool index_file) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto identity, Identify(path, index_file));
  MutexLock lock(mu_);
  auto it = jobs_.find(identity.first);
  if (it == jobs_.end() || !IsActive(it->second->state())) {
    return NotFound(fmt::format(
        "Cannot find load job for path {}, it might have already been stopped or finished", path));
  }
  it->second->RequestStop();
  return OkStatus();
}

Result<LoadProgress> JobManager::Progress(const std::string& path, bool index_file,
                                          std::chrono::milliseconds wait_for_end) {
  ALLUVIUM_ASSIGN_OR_RETURN(auto identity, Identify(path, index_file));
  UniqueMutexLock lock(mu_);
  auto running = [&] {
    mu_.AssertHeld();  // called with the lock held, in the wait's predicate among others
    auto it = jobs_.find(identity.first);
    return !waits_ended_ && it != jobs_.end() && IsActive(it->second->state());
  };
  if (wait_for_end.count() > 0) job_ended_.wait_for(lock, wait_for_end, [&] { return !running(); });
  auto it = jobs_.find(identity.first);
  if (it == jobs_.end()) return NotFound(fmt::format("Load for path '{}' cannot be found.", path));
  return it->second->Progress();
}

std::vector<LoadProgress> JobManager::List(std::optional<JobState> state) {
  std::vector<LoadProgress> out;
  MutexLock lock(mu_);
  for (const auto& [key, job] : jobs_) {
    LoadProgress p = job->Progress();
    if (!state || p.state == *state) out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const LoadProgress& a, const LoadProgress& b) { return a.start_ms < b.start_ms; });
  return out;
}

void JobManager::Sweep() {
  const int64_t cutoff = UnixMillis() - options_.retention.count();
  std::vector<std::unique_ptr<LoadJob>> expired;
  {
    MutexLock lock(mu_);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      const LoadProgress p = it->second->Progress();
      if (!IsActive(p.state) && p.end_ms > 0 && p.end_ms < cutoff) {
        ALLUVIUM_LOG(INFO, "dropping {} load job {} for '{}' past retention", JobStateName(p.state),
                     p.job_id, p.path);
        (void)store_.Delete(std::string(kStorePrefix) + it->first);
        expired.push_back(std::move(it->second));
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void JobManager::SweepLoop(std::stop_token stop) {
  // Often enough that a short retention (in tests) is honoured promptly.
  const auto period = std::clamp(options_.retention / 10, std::chrono::milliseconds(100),
                                 std::chrono::milliseconds(3600 * 1000));
  while (SleepUnlessStopped(stop, period)) Sweep();
}

void JobManager::EndWaits() {
  {
    MutexLock lock(mu_);
    waits_ended_ = true;
  }
  job_ended_.notify_all();
}

void JobManager::Shutdown() {
  EndWaits();
  if (sweeper_.joinable()) {
    sweeper_.request_stop();  // cuts its sleep short
    sweeper_.join();
  }
  std::map<std::string, std::unique_ptr<LoadJob>> jobs;
  {
    MutexLock lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& [key, job] : jobs) job->Shutdown();
}

}  // namespace alluvium::coordinator
