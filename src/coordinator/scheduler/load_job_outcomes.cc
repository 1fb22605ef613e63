// How a load job takes its workers' answers, on the sender threads under the job's mutex: a
// copy done, retried (on the same worker or the next), waiting for a worker's disk to have room,
// or failed; a failed file recorded (and, outside the lock, listed); finished files committed in
// listing order, so that the cursor only moves past files that are all done. The driver is in
// load_job.cc, placing and sending in load_job_send.cc.
#include <random>

#include "common/logging.h"
#include "common/metrics.h"
#include "common/units.h"
#include "coordinator/scheduler/load_job.h"
#include "coordinator/scheduler/load_job_work.h"
#include "coordinator/scheduler/load_retry.h"

namespace alluvium::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

metrics::Counter& segment_retries = metrics::NewCounter("alluvium_coordinator_load_retries_total",
                                                        "Segment copies retried by load jobs.");

}  // namespace

void LoadJob::OnBatchDone(Batch& batch, Result<std::vector<ItemOutcome>> outcomes) {
  MutexLock lock(mu_);
  if (!outcomes.ok() && !calls_.stop_requested()) {
    ALLUVIUM_LOG(WARN, "load job {}: worker {} failed a batch of {}: {}", job_id_, batch.address,
                 batch.items.size(), outcomes.status());
  }
  static thread_local std::mt19937 random(std::random_device{}());
  const bool stopping = stop_requested_ || calls_.stop_requested();
  for (size_t i = 0; i < batch.items.size(); ++i) {
    std::unique_ptr<Work>& work = batch.items[i];
    const Status status = outcomes.ok() ? (*outcomes)[i].status : outcomes.status();
    switch (
        NextAction(status, !outcomes.ok(), stopping, work->attempts, env_.tuning.max_attempts)) {
      case ItemAction::kDone: {
        if (auto waiting = waiting_as_.find(batch.address); waiting != waiting_as_.end()) {
          live_.waiting_for_space.erase(waiting->second);  // it has room again
          waiting_as_.erase(waiting);
        }
        const ItemOutcome& o = (*outcomes)[i];
        work->file->bytes_loaded += o.bytes_loaded;
        work->file->bytes_skipped += o.bytes_skipped;
        live_.bytes_loaded += o.bytes_loaded;
        live_.bytes_skipped += o.bytes_skipped;
        if (o.bytes_skipped < work->segment.length) work->file->all_skipped = false;
        FinishWorkLocked(*work, status);
        break;
      }
      case ItemAction::kLeave:
        break;
      case ItemAction::kOverCapacity:
        FinishWorkLocked(*work, CapacityFailureLocked(batch.address, status));
        break;
      case ItemAction::kWaitForSpace:
        if (WaitForSpaceLocked(work, batch.address, status)) break;
        FinishWorkLocked(
            *work,
            status.WithContext(fmt::format(
                "worker {}: no room for {}s", batch.address,
                std::chrono::ceil<std::chrono::seconds>(env_.tuning.no_space_timeout).count())));
        break;
      case ItemAction::kRetryOtherWorker:
        work->failed_workers.insert(batch.address);
        [[fallthrough]];
      case ItemAction::kRetrySameWorker:
        ++work->attempts;
        ++work->file->retries;
        ++live_.subtasks_retried;
        segment_retries.Increment();
        retries_.emplace(
            Clock::now() + RetryBackoff(env_.tuning.retry_backoff, work->attempts, random),
            std::move(work));
        break;
      case ItemAction::kFail:
        FinishWorkLocked(*work, status.WithContext("worker " + batch.address));
        break;
    }
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
  } else if (options_.skip_if_exists && file.all_skipped) {
    ++live_.files_skipped;
  }
  // Commit every finished file at the front of the window, in listing order.
  LoadProgress& c = record_.progress;
  while (!window_.empty() && window_.front()->pending == 0) {
    const FileState& done = *window_.front();
    ++c.files_scanned;
    ++c.files_processed;
    c.files_failed += done.failed ? 1 : 0;
    c.files_skipped += !done.failed && options_.skip_if_exists && done.all_skipped ? 1 : 0;
    if (!record_.progress.total_known) c.bytes_total += options_.metadata_only ? 0 : done.bytes;
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
    MutexLock lock(mu_);
    paths.swap(failed_unwritten_);
  }
  if (paths.empty()) return;
  const Status written = failed_list_.Append(paths);
  if (!written.ok()) {
    ALLUVIUM_LOG(WARN, "load job {}: {} failed files left out of the failed-file list: {}", job_id_,
                 paths.size(), written);
    return;
  }
  MutexLock lock(mu_);
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

}  // namespace alluvium::coordinator
