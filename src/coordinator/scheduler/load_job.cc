#include "coordinator/scheduler/load_job.h"

#include <algorithm>
#include <random>

#include "common/clock.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_mapping.h"
#include "common/units.h"
#include "coordinator/scheduler/listing_prefetcher.h"
#include "coordinator/scheduler/load_verifier.h"

namespace alluvium::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

metrics::Counter& segments_sent = metrics::NewCounter(
    "alluvium_coordinator_load_segments_total", "Segment copies sent to workers by load jobs.");
metrics::Counter& segment_retries = metrics::NewCounter("alluvium_coordinator_load_retries_total",
                                                        "Segment copies retried by load jobs.");

}  // namespace

// A listed file and how its segment copies are doing. Lives in window_ until committed.
struct LoadJob::FileState {
  ufs::FileStatus status;
  int pending = 0;
  bool failed = false;
  std::string failure;
  bool all_skipped = true;
  uint64_t bytes = 0;  // segment copy bytes (length x replicas)
  uint64_t bytes_loaded = 0, bytes_skipped = 0;
  uint64_t subtasks = 0, subtasks_failed = 0, retries = 0;
};

// One copy of one segment, on its way to a worker.
struct LoadJob::Work {
  FileState* file = nullptr;
  SegmentRef segment;
  uint64_t segment_index = 0;
  size_t replica = 0;
  int attempts = 0;
  std::set<std::string> failed_workers;
  std::string placed_on;  // the worker address its bytes are counted against
  std::optional<std::chrono::steady_clock::time_point> no_space_since;
};

struct LoadJob::Batch {
  std::string address;
  std::vector<std::unique_ptr<Work>> items;
  uint64_t bytes = 0;
};

LoadJob::LoadJob(LoadJobRecord record, LoadJobEnv env)
    : env_(std::move(env)),
      job_id_(record.progress.job_id),
      resumed_(!record.cursor.empty() || record.progress.files_scanned > 0),
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
  if (!live_.options.file_filter_regex.empty()) {
    filter_.emplace(live_.options.file_filter_regex, std::regex::ECMAScript);  // validated
  }
}

LoadJob::~LoadJob() { Shutdown(); }

void LoadJob::Start(std::optional<ufs::FileStatus> target) {
  target_hint_ = std::move(target);  // the driver, which reads it, is not running yet
  {
    std::lock_guard lock(mu_);
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
    std::lock_guard lock(mu_);
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
  std::lock_guard lock(mu_);
  return live_;
}

std::map<std::string, std::string> LoadJob::Failures() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out = failures_;
  for (const FailedFile& f : record_.progress.failed_files) out.try_emplace(f.path, f.reason);
  return out;
}

LoadJobRecord LoadJob::Record() const {
  std::lock_guard lock(mu_);
  return record_;
}

JobState LoadJob::state() const {
  std::lock_guard lock(mu_);
  return live_.state;
}

Result<std::unique_ptr<EntrySource>> LoadJob::OpenSource(const std::string& start_after,
                                                         bool count_bad_lines,
                                                         std::optional<ufs::FileStatus> target) {
  if (!record_.index_file) {
    ALLUVIUM_ASSIGN_OR_RETURN(auto fs, env_.open_fs(record_.target_uri));
    return OpenTreeSource(fs, record_.target_uri, start_after, filter_, std::move(target));
  }
  return OpenIndexSource(env_.open_fs, env_.resolve, record_.target_uri, filter_,
                         [this, count_bad_lines](const std::string& line, const Status& error) {
                           if (!count_bad_lines) return;
                           std::lock_guard lock(mu_);
                           ++live_.files_scanned;
                           ++live_.files_processed;
                           ++live_.files_failed;
                           RecordFailureLocked(line, error.ToString());
                         });
}

void LoadJob::Drive(std::stop_token stop) {
  ALLUVIUM_LOG(INFO, "load job {} for '{}' {}", job_id_, live_.path,
               resumed_ ? "resumes" : "starts");
  // Placing segments on a half-rebuilt ring would put them where reads will not look.
  while (env_.settled && !env_.settled() && !stop.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Status st = LoadPass(stop);
  bool user_stop;
  {
    std::lock_guard lock(mu_);
    user_stop = stop_requested_;
  }
  if (st.ok() && !user_stop && !stop.stop_requested() && live_.options.verify) {
    st = VerifyPass(stop);
  }
  {
    std::lock_guard lock(mu_);
    user_stop = stop_requested_;
  }
  const bool ended = !(stop.stop_requested() && !user_stop);
  // Whatever ended the passes, calls still in flight are not waited for: a job that failed (no
  // live worker) would otherwise wait out their deadlines on workers that do not answer.
  calls_.request_stop();
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return in_flight_ == 0; });
  }
  WriteFailedList();  // before the record that names the list is committed
  if (!ended) {
    // Shutdown: the committed record stays RUNNING, so the job resumes on restart, pins and all.
    std::unique_lock lock(mu_);
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
      std::unique_lock lock(mu_);
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
  const LoadOptions& o = live_.options;
  std::vector<std::unique_ptr<Work>> works;
  {
    std::lock_guard lock(mu_);
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

void LoadJob::Place(std::unique_ptr<Work> work, std::stop_token stop) {
  const auto placement = env_.placement.Current();
  const size_t replicas = live_.options.replicas;
  std::vector<std::string> candidates = placement->WorkersFor(
      work->segment.status, work->segment_index, replicas + work->failed_workers.size());
  std::erase_if(candidates, [&](const std::string& a) { return work->failed_workers.contains(a); });
  if (candidates.empty()) {
    // No live worker at all (e.g. just after a coordinator restart, before workers re-register):
    // wait for one rather than fail the file, but not forever.
    const auto now = Clock::now();
    if (!no_worker_since_) {
      no_worker_since_ = now;
      ALLUVIUM_LOG(WARN, "load job {} waits for a live worker (fails after {}s without one)",
                   job_id_,
                   std::chrono::ceil<std::chrono::seconds>(env_.tuning.no_worker_timeout).count());
    } else if (now - *no_worker_since_ >= env_.tuning.no_worker_timeout) {
      no_worker_ = Unavailable(fmt::format(
          "no live worker to load on for {}s; start workers and submit the job again",
          std::chrono::ceil<std::chrono::seconds>(env_.tuning.no_worker_timeout).count()));
    }
    std::lock_guard lock(mu_);
    work->failed_workers.clear();
    retries_.emplace(Clock::now() + std::chrono::seconds(1), std::move(work));
    return;
  }
  no_worker_since_.reset();
  const std::string address = candidates[std::min(work->replica, candidates.size() - 1)];
  if (work->placed_on != address) {
    std::lock_guard lock(mu_);
    if (!work->placed_on.empty()) placed_bytes_[work->placed_on] -= work->segment.length;
    placed_bytes_[address] += work->segment.length;
    work->placed_on = address;
  }
  auto& batch = pending_[address];
  if (!batch) {
    batch = std::make_unique<Batch>();
    batch->address = address;
  }
  batch->bytes += work->segment.length;
  batch->items.push_back(std::move(work));
  if (batch->items.size() >= live_.options.batch_size ||
      batch->bytes >= env_.tuning.max_batch_bytes) {
    Flush(address, stop);
  }
}

void LoadJob::Flush(const std::string& address, std::stop_token stop) {
  auto it = pending_.find(address);
  if (it == pending_.end() || !it->second || it->second->items.empty()) return;
  std::unique_ptr<Batch> batch = std::move(it->second);
  pending_.erase(it);
  std::unique_lock lock(mu_);
  // Bounded: the driver waits while every sender has work queued.
  changed_.wait(lock, stop, [&] { return send_queue_.size() < senders_.size(); });
  ++in_flight_;
  send_queue_.push_back(std::move(batch));
  changed_.notify_all();
}

void LoadJob::FlushAll(std::stop_token stop) {
  std::vector<std::string> addresses;
  for (const auto& [address, batch] : pending_) addresses.push_back(address);
  for (const std::string& address : addresses) Flush(address, stop);
}

void LoadJob::DispatchDueRetries(std::stop_token stop) {
  std::vector<std::unique_ptr<Work>> due;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    while (!retries_.empty() && retries_.begin()->first <= now) {
      due.push_back(std::move(retries_.begin()->second));
      retries_.erase(retries_.begin());
    }
  }
  for (auto& work : due) Place(std::move(work), stop);
  if (!due.empty()) FlushAll(stop);
}

Result<std::unique_ptr<EntrySource>> LoadJob::OpenPrefetchedSource() {
  ALLUVIUM_ASSIGN_OR_RETURN(auto source, OpenSource(record_.cursor, /*count_bad_lines=*/true,
                                                    std::exchange(target_hint_, std::nullopt)));
  ListingPrefetcher::Options o;
  if (live_.options.partial_listing) {
    // Alluxio's partial listing: list as the load goes, never far ahead, no total.
    o.capacity = std::min<size_t>(env_.tuning.listing_ahead_entries, 10'000);
    return std::unique_ptr<EntrySource>(
        std::make_unique<ListingPrefetcher>(std::move(source), std::move(o)));
  }
  o.capacity = env_.tuning.listing_ahead_entries;
  // Files before the cursor are committed with their bytes; the listing sizes the rest.
  uint64_t committed_bytes;
  {
    std::lock_guard lock(mu_);
    committed_bytes = record_.progress.bytes_total;
  }
  o.on_listed = [this, committed_bytes](uint64_t /*files*/, uint64_t bytes) {
    std::lock_guard lock(mu_);
    if (record_.progress.total_known) return;
    MarkTotalKnownLocked(
        live_.options.metadata_only ? 0 : committed_bytes + bytes * live_.options.replicas);
  };
  if (!record_.index_file) {  // an index file cannot be reopened part way
    o.reopen_after = [this](const std::string& after) {
      return OpenSource(after, /*count_bad_lines=*/true);
    };
  }
  return std::unique_ptr<EntrySource>(
      std::make_unique<ListingPrefetcher>(std::move(source), std::move(o)));
}

Status LoadJob::LoadPass(std::stop_token stop) {
  // One listing, ahead of the load in a thread of its own, also sizes the dataset.
  ALLUVIUM_ASSIGN_OR_RETURN(auto source, OpenPrefetchedSource());
  auto should_stop = [&] {
    std::lock_guard lock(mu_);
    return stop_requested_ || stop.stop_requested();
  };
  while (!should_stop()) {
    DispatchDueRetries(stop);
    // No live worker: listing on would only hold the rest of the dataset in memory as retries.
    // Wait for one here; the retries come due each second and fail the job after the timeout.
    while (no_worker_since_ && no_worker_.ok() && !should_stop()) {
      {
        std::unique_lock lock(mu_);
        changed_.wait_for(lock, stop, std::chrono::milliseconds(100),
                          [&] { return stop_requested_; });
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
      std::lock_guard lock(mu_);
      idle = send_queue_.empty();
      CommitLocked(false);
    }
    if (idle) FlushAll(stop);
  }
  {
    std::lock_guard lock(mu_);
    live_.listing_done = !stop_requested_ && !stop.stop_requested();
    // Every file is listed, so the running sum is the total. The prefetcher reports it first
    // unless the listing outgrew its bound and the count past it is still going (or failed).
    if (live_.listing_done && !record_.progress.total_known && !live_.options.partial_listing) {
      MarkTotalKnownLocked(live_.bytes_total);
    }
  }
  FlushAll(stop);
  // Drain: in-flight batches finish; retries come due and go out again.
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (in_flight_ == 0 && retries_.empty() && window_.empty()) break;
    const auto until = retries_.empty() ? Clock::now() + env_.tuning.commit_interval
                                        : std::min(retries_.begin()->first,
                                                   Clock::now() + env_.tuning.commit_interval);
    // Wakes as soon as the last batch is done (or the user stops), not at the next tick.
    changed_.wait_until(lock, stop, until,
                        [&] { return in_flight_ == 0 && retries_.empty() && window_.empty(); });
    CommitLocked(false);
    lock.unlock();
    DispatchDueRetries(stop);
    if (!no_worker_.ok()) return no_worker_;
    lock.lock();
  }
  CommitLocked(true);
  return OkStatus();
}

void LoadJob::SendLoop(std::stop_token stop) {
  while (true) {
    std::unique_ptr<Batch> batch;
    uint64_t bandwidth = 0;
    {
      std::unique_lock lock(mu_);
      if (!changed_.wait(lock, stop, [&] { return !send_queue_.empty(); })) return;
      batch = std::move(send_queue_.front());
      send_queue_.pop_front();
      changed_.notify_all();
    }
    const size_t workers = std::max<size_t>(1, env_.placement.Current()->address_of.size());
    if (live_.options.bandwidth)
      bandwidth = std::max<uint64_t>(1, *live_.options.bandwidth / workers);
    LoadCall call{.job_id = job_id_,
                  .metadata_only = live_.options.metadata_only,
                  .skip_if_exists = live_.options.skip_if_exists,
                  .bandwidth = bandwidth,
                  .pin = !live_.options.allow_eviction};
    for (const auto& work : batch->items) call.items.push_back(work->segment);
    // Generous: a throttled batch takes bytes / share seconds.
    auto timeout = std::chrono::milliseconds(120'000);
    if (bandwidth > 0) {
      timeout = std::max(timeout, std::chrono::milliseconds(batch->bytes * 3000 / bandwidth));
    }
    segments_sent.Increment(call.items.size());
    OnBatchDone(*batch, env_.workers.Load(batch->address, call, timeout, calls_.get_token()));
    // Still in flight until its failures are in the list: the job's end waits for that.
    WriteFailedList();
    std::lock_guard lock(mu_);
    --in_flight_;
    changed_.notify_all();
  }
}

void LoadJob::OnBatchDone(Batch& batch, Result<std::vector<ItemOutcome>> outcomes) {
  std::lock_guard lock(mu_);
  if (!outcomes.ok() && !calls_.stop_requested()) {
    ALLUVIUM_LOG(WARN, "load job {}: worker {} failed a batch of {}: {}", job_id_, batch.address,
                 batch.items.size(), outcomes.status());
  }
  static thread_local std::mt19937 random(std::random_device{}());
  for (size_t i = 0; i < batch.items.size(); ++i) {
    std::unique_ptr<Work>& work = batch.items[i];
    const Status status = outcomes.ok() ? (*outcomes)[i].status : outcomes.status();
    if (status.ok()) {
      if (auto waiting = waiting_as_.find(batch.address); waiting != waiting_as_.end()) {
        live_.waiting_for_space.erase(waiting->second);  // it has room again
        waiting_as_.erase(waiting);
      }
      const ItemOutcome& o = (*outcomes)[i];
      work->file->bytes_loaded += o.bytes_loaded;
      work->file->bytes_skipped += o.bytes_skipped;
      live_.bytes_loaded += o.bytes_loaded;
      live_.bytes_skipped += o.bytes_skipped;
      if (o.bytes_skipped < work->segment.length) {
        work->file->all_skipped = false;
      }
      FinishWorkLocked(*work, status);
      continue;
    }
    // Left unfinished: the cursor stays before this file (a stop or shutdown cancelled it).
    if (stop_requested_ || calls_.stop_requested()) continue;
    // The worker answered for the item itself: its cache cannot hold the job's share (final),
    // or its disk has no room now (wait for room there: the segment belongs on that worker).
    if (outcomes.ok() && status.code() == Code::kFailedPrecondition) {
      FinishWorkLocked(*work, CapacityFailureLocked(batch.address, status));
      continue;
    }
    if (outcomes.ok() && status.code() == Code::kResourceExhausted) {
      if (WaitForSpaceLocked(work, batch.address, status)) continue;
      FinishWorkLocked(
          *work,
          status.WithContext(fmt::format(
              "worker {}: no room for {}s", batch.address,
              std::chrono::ceil<std::chrono::seconds>(env_.tuning.no_space_timeout).count())));
      continue;
    }
    if (WorthAnotherWorker(status) && work->attempts + 1 < env_.tuning.max_attempts) {
      ++work->attempts;
      // Move on from the worker only when it is the problem: the call failed. A UFS error it
      // reported is retried on the same worker, the segment's owner, so reads find the pages
      // where the ring says they are.
      if (!outcomes.ok()) work->failed_workers.insert(batch.address);
      ++work->file->retries;
      ++live_.subtasks_retried;
      segment_retries.Increment();
      const auto backoff = env_.tuning.retry_backoff * (1 << (work->attempts - 1));
      const auto jitter = std::chrono::milliseconds(random() % (backoff.count() + 1));
      retries_.emplace(Clock::now() + backoff + jitter, std::move(work));
      continue;
    }
    FinishWorkLocked(*work, status.WithContext("worker " + batch.address));
  }
  changed_.notify_all();
}

void LoadJob::FinishWorkLocked(Work& work, const Status& final_status) {
  FileState& file = *work.file;
  --file.pending;
  if (!final_status.ok()) {
    ++file.subtasks_failed;
    ++live_.subtasks_failed;
    if (!file.failed) file.failure = final_status.ToString();
    file.failed = true;
  }
  if (file.pending > 0) return;
  ++live_.files_processed;
  if (file.failed) {
    ++live_.files_failed;
    RecordFailureLocked(file.status.uri, file.failure);
  } else if (live_.options.skip_if_exists && file.all_skipped) {
    ++live_.files_skipped;
  }
  // Commit every finished file at the front of the window, in listing order.
  LoadProgress& c = record_.progress;
  while (!window_.empty() && window_.front()->pending == 0) {
    const FileState& done = *window_.front();
    ++c.files_scanned;
    ++c.files_processed;
    c.files_failed += done.failed ? 1 : 0;
    c.files_skipped += !done.failed && live_.options.skip_if_exists && done.all_skipped ? 1 : 0;
    if (!record_.progress.total_known)
      c.bytes_total += live_.options.metadata_only ? 0 : done.bytes;
    c.bytes_loaded += done.bytes_loaded;
    c.bytes_skipped += done.bytes_skipped;
    c.subtasks_total += done.subtasks;
    c.subtasks_failed += done.subtasks_failed;
    c.subtasks_retried += done.retries;
    record_.cursor = done.status.uri;
    window_.pop_front();
  }
}

std::string LoadJob::WorkerName(const std::string& address) const {
  const auto worker = env_.worker_at ? env_.worker_at(address) : std::nullopt;
  return worker ? worker->id : address;
}

std::string LoadJob::OverCapacityLocked(const std::string& address) const {
  const auto worker = env_.worker_at ? env_.worker_at(address) : std::nullopt;
  const auto placed = placed_bytes_.find(address);
  return fmt::format("{}: {} of this job exceed its {} cache", worker ? worker->id : address,
                     FormatMiB(placed == placed_bytes_.end() ? 0 : placed->second),
                     worker ? FormatMiB(worker->stats.capacity_bytes) : std::string("unknown"));
}

Status LoadJob::CapacityFailureLocked(const std::string& address, const Status& refusal) {
  over_capacity_.insert(address);
  return FailedPrecondition(fmt::format("{} ({})", OverCapacityLocked(address), refusal.message()));
}

bool LoadJob::WaitForSpaceLocked(std::unique_ptr<Work>& work, const std::string& address,
                                 const Status& refusal) {
  const auto now = Clock::now();
  if (!work->no_space_since) work->no_space_since = now;
  const auto waited = now - *work->no_space_since;
  if (waited >= env_.tuning.no_space_timeout) return false;
  auto [as, fresh] = waiting_as_.try_emplace(address);
  if (fresh) as->second = WorkerName(address);
  live_.waiting_for_space[as->second] = refusal.message();
  ++work->file->retries;
  ++live_.subtasks_retried;
  segment_retries.Increment();
  // Not an attempt: the worker is fine, its disk is full. Back off longer the longer it lasts.
  const auto backoff = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(waited),
                                  env_.tuning.retry_backoff, env_.tuning.no_space_max_backoff);
  retries_.emplace(now + backoff, std::move(work));
  return true;
}

std::string LoadJob::FailureReasonLocked() const {
  std::string reason =
      fmt::format("{} of {} files failed to load", live_.files_failed, live_.files_scanned);
  for (const std::string& address : over_capacity_) reason += "; " + OverCapacityLocked(address);
  return reason;
}

void LoadJob::ReleasePins() {
  if (live_.options.allow_eviction) return;
  // Every live worker too: a job resumed after a coordinator restart pinned pages on workers
  // before the restart that this run may not have sent anything.
  std::set<std::string> addresses;
  for (const auto& [id, address] : env_.placement.Current()->address_of) addresses.insert(address);
  {
    std::lock_guard lock(mu_);
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

void LoadJob::RecordFailureLocked(const std::string& path, const std::string& reason) {
  constexpr size_t kKeptFailures = 1000;
  if (live_.failed_files.size() >= kKeptFailures)
    live_.failed_files.erase(live_.failed_files.begin());
  live_.failed_files.push_back({path, reason});
  failures_.try_emplace(path, reason);
  ALLUVIUM_LOG(DEBUG, "load job {}: {} failed: {}", job_id_, path, reason);
  if (failed_list_.enabled()) failed_unwritten_.push_back(path);
}

void LoadJob::WriteFailedList() {
  std::vector<std::string> paths;
  {
    std::lock_guard lock(mu_);
    paths.swap(failed_unwritten_);
  }
  if (paths.empty()) return;
  const Status written = failed_list_.Append(paths);
  if (!written.ok()) {
    ALLUVIUM_LOG(WARN, "load job {}: {} failed files left out of the failed-file list: {}", job_id_,
                 paths.size(), written);
    return;
  }
  std::lock_guard lock(mu_);
  live_.failed_files_saved_to = failed_list_.path().string();
}

void LoadJob::CommitLocked(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_commit_ < env_.tuning.commit_interval) return;
  last_commit_ = now;
  LoadProgress& c = record_.progress;
  c.state = live_.state;
  c.listing_done = live_.listing_done && window_.empty();
  c.failed_files = live_.failed_files;
  c.failed_files_saved_to = live_.failed_files_saved_to;
  if (record_.progress.total_known) c.bytes_total = live_.bytes_total;
  // Persisting under the lock keeps records in order; it is one small write every interval.
  env_.persist(record_);
}

void LoadJob::Finish(JobState state, std::string reason) {
  std::lock_guard lock(mu_);
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
    std::lock_guard lock(mu_);
    live_.state = JobState::kVerifying;
    CommitLocked(true);
  }
  LoadVerifier verifier(
      env_.placement, env_.workers,
      {.job_id = job_id_,
       .options = live_.options,
       .max_attempts = env_.tuning.max_attempts,
       .retry_backoff = env_.tuning.retry_backoff,
       .unreachable_wait = env_.tuning.worker_lost_wait,
       .capacity_failure =
           [this](const std::string& address, const Status& refusal) {
             std::lock_guard lock(mu_);
             return CapacityFailureLocked(address, refusal);
           },
       .name = [this](const std::string& address) { return WorkerName(address); }});
  ALLUVIUM_ASSIGN_OR_RETURN(
      VerifyOutcome outcome,
      verifier.Run([this] { return OpenSource("", /*count_bad_lines=*/false); }, stop));
  ALLUVIUM_LOG(INFO, "load job {}: verified {} segment copies, reloaded {}, {} files not cached",
               job_id_, outcome.segments_checked, FormatSize(outcome.bytes_reloaded),
               outcome.missing.size());

  std::lock_guard lock(mu_);
  for (const auto& [uri, why] : outcome.missing) {
    if (failures_.contains(uri)) continue;  // counted when its load failed
    ++live_.files_failed;
    RecordFailureLocked(uri, "DATA_LOSS: not fully cached after verification: " + why);
  }
  return OkStatus();
}

}  // namespace alluvium::coordinator
