// How a load job places and sends its segment copies: each on the worker the ring names for it
// (or the next, past workers that failed it), waiting while no worker is live; batched per
// worker, and sent by the sender threads, a bounded queue between them and the driver. The
// driver's side is in load_job.cc, what the answers do in load_job_outcomes.cc.
#include <algorithm>

#include "common/logging.h"
#include "common/metrics.h"
#include "coordinator/scheduler/load_job.h"
#include "coordinator/scheduler/load_job_work.h"

namespace alluvium::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

metrics::Counter& segments_sent = metrics::NewCounter(
    "alluvium_coordinator_load_segments_total", "Segment copies sent to workers by load jobs.");

}  // namespace

void LoadJob::Place(std::unique_ptr<Work> work, std::stop_token stop) {
  const auto placement = env_.placement.Current();
  const size_t replicas = options_.replicas;
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
    MutexLock lock(mu_);
    work->failed_workers.clear();
    retries_.emplace(Clock::now() + std::chrono::seconds(1), std::move(work));
    return;
  }
  no_worker_since_.reset();
  const std::string address = candidates[std::min(work->replica, candidates.size() - 1)];
  if (work->placed_on != address) {
    MutexLock lock(mu_);
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
  if (batch->items.size() >= options_.batch_size || batch->bytes >= env_.tuning.max_batch_bytes) {
    Flush(address, stop);
  }
}

void LoadJob::Flush(const std::string& address, std::stop_token stop) {
  auto it = pending_.find(address);
  if (it == pending_.end() || !it->second || it->second->items.empty()) return;
  std::unique_ptr<Batch> batch = std::move(it->second);
  pending_.erase(it);
  UniqueMutexLock lock(mu_);
  // Bounded: the driver waits while every sender has work queued.
  changed_.wait(lock, stop, [&] {
    mu_.AssertHeld();  // the wait holds it around its predicate
    return send_queue_.size() < senders_.size();
  });
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
    MutexLock lock(mu_);
    const auto now = Clock::now();
    while (!retries_.empty() && retries_.begin()->first <= now) {
      due.push_back(std::move(retries_.begin()->second));
      retries_.erase(retries_.begin());
    }
  }
  for (auto& work : due) Place(std::move(work), stop);
  if (!due.empty()) FlushAll(stop);
}

void LoadJob::SendLoop(std::stop_token stop) {
  while (true) {
    std::unique_ptr<Batch> batch;
    uint64_t bandwidth = 0;
    {
      UniqueMutexLock lock(mu_);
      if (!changed_.wait(lock, stop, [&] {
            mu_.AssertHeld();
            return !send_queue_.empty();
          }))
        return;
      batch = std::move(send_queue_.front());
      send_queue_.pop_front();
      changed_.notify_all();
    }
    const size_t workers = std::max<size_t>(1, env_.placement.Current()->address_of.size());
    if (options_.bandwidth) bandwidth = std::max<uint64_t>(1, *options_.bandwidth / workers);
    LoadCall call{.job_id = job_id_,
                  .metadata_only = options_.metadata_only,
                  .skip_if_exists = options_.skip_if_exists,
                  .bandwidth = bandwidth,
                  .pin = !options_.allow_eviction};
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
    MutexLock lock(mu_);
    --in_flight_;
    changed_.notify_all();
  }
}

}  // namespace alluvium::coordinator
