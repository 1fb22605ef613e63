// LoadJob's driver: its lifecycle (start, stop, shutdown, the end state), the listing that turns
// files into segment copies, draining, the verify pass and the release of pins. Placing and
// sending the copies is in load_job_send.cc, what the workers' answers do in
// load_job_outcomes.cc.
#include "coordinator/scheduler/load_job.h"

#include <algorithm>

#include "common/clock.h"
#include "common/logging.h"
#include "common/units.h"
#include "coordinator/scheduler/load_job_work.h"
#include "coordinator/scheduler/load_source.h"
#include "coordinator/scheduler/load_verifier.h"

namespace alluvium::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

LoadJob::LoadJob(LoadJobRecord record, LoadJobEnv env)
    : env_(std::move(env)),
      job_id_(record.progress.job_id),
      resumed_(!record.cursor.empty() || record.progress.files_scanned > 0),
      options_(record.progress.options),
      path_(record.progress.path),
      target_uri_(record.target_uri),
      index_file_(record.index_file),
      record_(std::move(record)),
      failed_list_(env_.tuning.failed_list_dir, record_.progress.path, job_id_) {
  if (record_.index_file && resumed_) {
    // Index jobs restart from the top; workers skip the pages they already hold.
    LoadProgress fresh;
    fresh.path = record_.progress.path;
    fresh.job_id = record_.progress.job_id;
    fresh.options = record_.progress.options;
    fresh.start_ms = record_.progress.start_ms;
    record_.progress = std::move(fresh);
    record_.cursor.clear();
  }
  live_ = record_.progress;
  if (!options_.file_filter_regex.empty()) {
    filter_.emplace(options_.file_filter_regex, std::regex::ECMAScript);  // validated
  }
}

LoadJob::~LoadJob() { Shutdown(); }

void LoadJob::Start(std::optional<ufs::FileStatus> target) {
  target_hint_ = std::move(target);  // the driver, which reads it, is not running yet
  {
    MutexLock lock(mu_);
    live_.state = JobState::kRunning;
    live_.end_ms = 0;
    live_.failure_reason.clear();
    stop_requested_ = false;
    last_commit_ = Clock::now();
  }
  calls_ = std::stop_source();  // no thread of this job runs yet
  no_worker_since_.reset();     // the driver's, which is not running yet
  no_worker_ = OkStatus();
  const size_t workers = std::max<size_t>(1, env_.placement.Current()->address_of.size());
  const size_t senders = std::clamp<size_t>(workers * env_.tuning.inflight_per_worker, 2, 32);
  for (size_t i = 0; i < senders; ++i) {
    senders_.emplace_back([this](std::stop_token stop) { SendLoop(stop); });
  }
  driver_ = std::jthread([this](std::stop_token stop) { Drive(stop); });
}

void LoadJob::RequestStop() {
  {
    MutexLock lock(mu_);
    stop_requested_ = true;
  }
  // Prompt, whatever the bandwidth: the calls in flight end now (the workers drop their items
  // within a page, rate-limiter waits included), and the driver stops listing and verifying.
  calls_.request_stop();
  driver_.request_stop();
  changed_.notify_all();
}

void LoadJob::Shutdown() {
  if (driver_.joinable()) {
    calls_.request_stop();
    driver_.request_stop();
    changed_.notify_all();
    driver_.join();
  }
  for (auto& sender : senders_) sender.request_stop();
  changed_.notify_all();
  senders_.clear();  // joins
}

LoadProgress LoadJob::Progress() const {
  MutexLock lock(mu_);
  return live_;
}

std::map<std::string, std::string> LoadJob::Failures() const {
  MutexLock lock(mu_);
  std::map<std::string, std::string> out = failures_;
  for (const FailedFile& f : record_.progress.failed_files) out.try_emplace(f.path, f.reason);
  return out;
}

LoadJobRecord LoadJob::Record() const {
  MutexLock lock(mu_);
  return record_;
}

JobState LoadJob::state() const {
  MutexLock lock(mu_);
  return live_.state;
}

LoadSourceSpec LoadJob::SourceSpec(bool count_bad_lines) {
  LoadSourceSpec spec{.open_fs = env_.open_fs,
                      .resolve = env_.resolve,
                      .target_uri = target_uri_,
                      .index_file = index_file_,
                      .filter = filter_};
  if (count_bad_lines) {
    spec.on_bad_line = [this](const std::string& line, const Status& error) {
      MutexLock lock(mu_);
      ++live_.files_scanned;
      ++live_.files_processed;
      ++live_.files_failed;
      RecordFailureLocked(line, error.ToString());
    };
  }
  return spec;
}

void LoadJob::Drive(std::stop_token stop) {
  ALLUVIUM_LOG(INFO, "load job {} for '{}' {}", job_id_, path_, resumed_ ? "resumes" : "starts");
  // Placing segments on a half-rebuilt ring would put them where reads will not look.
  while (env_.settled && !env_.settled() && !stop.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Status st = LoadPass(stop);
  bool user_stop;
  {
    MutexLock lock(mu_);
    user_stop = stop_requested_;
  }
  if (st.ok() && !user_stop && !stop.stop_requested() && options_.verify) {
    st = VerifyPass(stop);
  }
  {
    MutexLock lock(mu_);
    user_stop = stop_requested_;
  }
  const bool ended = !(stop.stop_requested() && !user_stop);
  // Whatever ended the passes, calls still in flight are not waited for: a job that failed (no
  // live worker) would otherwise wait out their deadlines on workers that do not answer.
  calls_.request_stop();
  {
    UniqueMutexLock lock(mu_);
    changed_.wait(lock, [&] {
      mu_.AssertHeld();  // the wait holds it around its predicate
      return in_flight_ == 0;
    });
  }
  WriteFailedList();  // before the record that names the list is committed
  if (!ended) {
    // Shutdown: the committed record stays RUNNING, so the job resumes on restart, pins and all.
    UniqueMutexLock lock(mu_);
    CommitLocked(true);
    LoadJobRecord record = record_;
    lock.unlock();
    env_.persist(record);
  } else {
    ReleasePins();
    if (user_stop) {
      Finish(JobState::kStopped, "");
    } else if (!st.ok()) {
      Finish(JobState::kFailed, st.ToString());
    } else {
      UniqueMutexLock lock(mu_);
      const double ratio = live_.files_scanned == 0 ? 0.0
                                                    : static_cast<double>(live_.files_failed) /
                                                          static_cast<double>(live_.files_scanned);
      const bool failed = live_.files_failed > 0 && ratio > env_.tuning.failure_ratio_threshold;
      std::string reason = failed ? FailureReasonLocked() : "";
      lock.unlock();
      Finish(failed ? JobState::kFailed : JobState::kSucceeded, std::move(reason));
    }
  }
  for (auto& sender : senders_) sender.request_stop();
  changed_.notify_all();
  for (auto& sender : senders_) sender.join();
  if (ended && env_.on_end) env_.on_end();
}

// From now on bytes_total is the whole dataset's, and files finishing no longer add to it.
void LoadJob::MarkTotalKnownLocked(uint64_t bytes_total) {
  live_.bytes_total = bytes_total;
  live_.total_known = true;
  record_.progress.bytes_total = bytes_total;
  record_.progress.total_known = true;
}

void LoadJob::AddFile(const ufs::FileStatus& status, std::stop_token stop) {
  const auto placement = env_.placement.Current();
  const LoadOptions& o = options_;
  std::vector<std::unique_ptr<Work>> works;
  {
    MutexLock lock(mu_);
    auto file = std::make_unique<FileState>();
    file->status = status;
    const std::vector<SegmentRef> segments =
        SegmentsOf(status, placement->segment_size, o.metadata_only);
    for (uint64_t s = 0; s < segments.size(); ++s) {
      for (size_t r = 0; r < o.replicas; ++r) {
        auto work = std::make_unique<Work>();
        work->file = file.get();
        work->segment = segments[s];
        work->segment_index = s;
        work->replica = r;
        file->bytes += segments[s].length;
        works.push_back(std::move(work));
      }
    }
    file->pending = static_cast<int>(works.size());
    file->subtasks = works.size();
    ++live_.files_scanned;
    live_.subtasks_total += works.size();
    if (!record_.progress.total_known) live_.bytes_total += o.metadata_only ? 0 : file->bytes;
    window_.push_back(std::move(file));
  }
  for (auto& work : works) Place(std::move(work), stop);
}

Result<std::unique_ptr<EntrySource>> LoadJob::OpenPrefetchedSource() {
  // Files before the cursor are committed with their bytes; the listing sizes the rest.
  uint64_t committed_bytes;
  std::string cursor;
  {
    MutexLock lock(mu_);
    committed_bytes = record_.progress.bytes_total;
    cursor = record_.cursor;
  }
  return OpenPrefetchedLoadSource(
      SourceSpec(/*count_bad_lines=*/true), cursor, std::exchange(target_hint_, std::nullopt),
      {.partial_listing = options_.partial_listing,
       .entries = env_.tuning.listing_ahead_entries,
       .on_sized = [this, committed_bytes](uint64_t bytes) {
         MutexLock lock(mu_);
         if (record_.progress.total_known) return;
         MarkTotalKnownLocked(options_.metadata_only ? 0
                                                     : committed_bytes + bytes * options_.replicas);
       }});
}

Status LoadJob::LoadPass(std::stop_token stop) {
  // One listing, ahead of the load in a thread of its own, also sizes the dataset.
  ALLUVIUM_ASSIGN_OR_RETURN(auto source, OpenPrefetchedSource());
  auto should_stop = [&] {
    MutexLock lock(mu_);
    return stop_requested_ || stop.stop_requested();
  };
  while (!should_stop()) {
    DispatchDueRetries(stop);
    // No live worker: listing on would only hold the rest of the dataset in memory as retries.
    // Wait for one here; the retries come due each second and fail the job after the timeout.
    while (no_worker_since_ && no_worker_.ok() && !should_stop()) {
      {
        UniqueMutexLock lock(mu_);
        changed_.wait_for(lock, stop, std::chrono::milliseconds(100), [&] {
          mu_.AssertHeld();
          return stop_requested_;
        });
      }
      DispatchDueRetries(stop);
    }
    if (!no_worker_.ok()) return no_worker_;
    if (should_stop()) break;
    ALLUVIUM_ASSIGN_OR_RETURN(std::optional<ufs::FileStatus> entry, source->Next());
    if (!entry) break;
    AddFile(*entry, stop);
    WriteFailedList();  // the index file's lines that name nothing
    // Keep workers busy: when no batch is queued, send what is pending now.
    bool idle;
    {
      MutexLock lock(mu_);
      idle = send_queue_.empty();
      CommitLocked(false);
    }
    if (idle) FlushAll(stop);
  }
  {
    MutexLock lock(mu_);
    live_.listing_done = !stop_requested_ && !stop.stop_requested();
    // Every file is listed, so the running sum is the total. The prefetcher reports it first
    // unless the listing outgrew its bound and the count past it is still going (or failed).
    if (live_.listing_done && !record_.progress.total_known && !options_.partial_listing) {
      MarkTotalKnownLocked(live_.bytes_total);
    }
  }
  FlushAll(stop);
  // Drain: in-flight batches finish; retries come due and go out again.
  UniqueMutexLock lock(mu_);
  while (!stop.stop_requested()) {
    if (in_flight_ == 0 && retries_.empty() && window_.empty()) break;
    const auto until = retries_.empty() ? Clock::now() + env_.tuning.commit_interval
                                        : std::min(retries_.begin()->first,
                                                   Clock::now() + env_.tuning.commit_interval);
    // Wakes as soon as the last batch is done (or the user stops), not at the next tick.
    changed_.wait_until(lock, stop, until, [&] {
      mu_.AssertHeld();
      return in_flight_ == 0 && retries_.empty() && window_.empty();
    });
    CommitLocked(false);
    lock.unlock();
    DispatchDueRetries(stop);
    if (!no_worker_.ok()) return no_worker_;
    lock.lock();
  }
  CommitLocked(true);
  return OkStatus();
}

void LoadJob::ReleasePins() {
  if (options_.allow_eviction) return;
  // Every live worker too: a job resumed after a coordinator restart pinned pages on workers
  // before the restart that this run may not have sent anything.
  std::set<std::string> addresses;
  for (const auto& [id, address] : env_.placement.Current()->address_of) addresses.insert(address);
  {
    MutexLock lock(mu_);
    for (const auto& [address, bytes] : placed_bytes_) addresses.insert(address);
  }
  // Side by side and briefly, so that a worker that does not answer cannot hold up the job's
  // end (a stop ends within 2 s); such a worker lets go by itself once the job has been silent
  // long enough (LoadExecutorOptions::pin_idle_timeout).
  std::vector<std::jthread> calls;
  for (const std::string& address : addresses) {
    calls.emplace_back([this, &address] {
      auto released = env_.workers.EndLoad(address, job_id_, std::chrono::seconds(1));
      if (!released.ok()) {
        ALLUVIUM_LOG(WARN, "load job {}: worker {} did not release its pins: {}", job_id_, address,
                     released.status());
      }
    });
  }
}

void LoadJob::Finish(JobState state, std::string reason) {
  MutexLock lock(mu_);
  live_.waiting_for_space.clear();
  waiting_as_.clear();
  live_.state = state;
  live_.failure_reason = std::move(reason);
  live_.end_ms = UnixMillis();
  if (state != JobState::kStopped) live_.listing_done = true;
  record_.progress.state = state;
  record_.progress.failure_reason = live_.failure_reason;
  record_.progress.end_ms = live_.end_ms;
  if (state == JobState::kStopped) {
    // Resuming goes on from the cursor with the committed counters.
    live_ = record_.progress;
    live_.state = state;
  }
  CommitLocked(true);
  ALLUVIUM_LOG(INFO, "load job {} for '{}' {}{}{}", job_id_, live_.path, JobStateName(state),
               live_.failure_reason.empty() ? "" : ": ", live_.failure_reason);
}

Status LoadJob::VerifyPass(std::stop_token stop) {
  {
    MutexLock lock(mu_);
    live_.state = JobState::kVerifying;
    CommitLocked(true);
  }
  LoadVerifier verifier(
      env_.placement, env_.workers,
      {.job_id = job_id_,
       .options = options_,
       .max_attempts = env_.tuning.max_attempts,
       .retry_backoff = env_.tuning.retry_backoff,
       .unreachable_wait = env_.tuning.worker_lost_wait,
       .capacity_failure =
           [this](const std::string& address, const Status& refusal) {
             MutexLock lock(mu_);
             return CapacityFailureLocked(address, refusal);
           },
       .name = [this](const std::string& address) { return WorkerName(address); }});
  ALLUVIUM_ASSIGN_OR_RETURN(
      VerifyOutcome outcome,
      verifier.Run(
          [spec = SourceSpec(/*count_bad_lines=*/false)] { return OpenLoadSource(spec, ""); },
          stop));
  ALLUVIUM_LOG(INFO, "load job {}: verified {} segment copies, reloaded {}, {} files not cached",
               job_id_, outcome.segments_checked, FormatSize(outcome.bytes_reloaded),
               outcome.missing.size());

  MutexLock lock(mu_);
  for (const auto& [uri, why] : outcome.missing) {
    if (failures_.contains(uri)) continue;  // counted when its load failed
    ++live_.files_failed;
    RecordFailureLocked(uri, "DATA_LOSS: not fully cached after verification: " + why);
  }
  return OkStatus();
}

}  // namespace alluvium::coordinator
