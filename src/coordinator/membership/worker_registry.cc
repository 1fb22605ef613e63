#include "coordinator/membership/worker_registry.h"
#include "common/clock.h"

#include "common/logging.h"
#include "common/metrics.h"

namespace alluvium::coordinator {
namespace {

metrics::Gauge& live_workers =
    metrics::NewGauge("alluvium_coordinator_live_workers", "Workers in the hash ring.");
metrics::Counter& lost_total = metrics::NewCounter("alluvium_coordinator_workers_lost_total",
                                                   "Times a worker was marked lost.");

}  // namespace

WorkerRegistry::WorkerRegistry(std::chrono::milliseconds timeout, Clock clock)
    : timeout_(timeout),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      started_(clock_()) {}

void WorkerRegistry::SetListener(Listener listener) { listener_ = std::move(listener); }

void WorkerRegistry::Deliver() {
  std::vector<std::pair<WorkerRecord, bool>> events;
  {
    MutexLock lock(mu_);
    events.swap(events_);
  }
  if (!listener_) return;
  for (const auto& [worker, joined] : events) listener_(worker, joined);
}

void WorkerRegistry::Restore(const std::map<std::string, std::string>& addresses) {
  MutexLock lock(mu_);
  for (const auto& [id, address] : addresses) {
    expected_.push_back(id);
    WorkerRecord& w = workers_[id];
    w.id = id;
    w.address = address;
    w.live = true;
    w.last_heartbeat = clock_();
    w.last_heartbeat_unix_ms = UnixMillis();
  }
  ++version_;
}

bool WorkerRegistry::Settled() {
  MutexLock lock(mu_);
  if (clock_() - started_ > timeout_) return true;
  for (const std::string& id : expected_) {
    auto it = workers_.find(id);
    if (it == workers_.end() || !it->second.live) return false;
  }
  return true;
}

void WorkerRegistry::Register(const std::string& id, const std::string& address,
                              const WorkerStats& stats) {
  RecordRegistration(id, address, stats);
  Deliver();
}

void WorkerRegistry::RecordRegistration(const std::string& id, const std::string& address,
                                        const WorkerStats& stats) {
  MutexLock lock(mu_);
  auto [it, joined] = workers_.try_emplace(id);
  WorkerRecord& w = it->second;
  const bool changed = joined || !w.live || w.address != address;
  if (changed) {
    ALLUVIUM_LOG(INFO, "worker {} {} at {}", id, joined ? "joined" : "rejoined", address);
    ++version_;
  }
  w.id = id;
  w.address = address;
  w.live = true;
  w.last_heartbeat = clock_();
  w.last_heartbeat_unix_ms = UnixMillis();
  w.stats = stats;
  if (changed) events_.emplace_back(w, true);
  SweepLocked();
}

bool WorkerRegistry::Heartbeat(const std::string& id, const WorkerStats& stats) {
  const bool known = RecordHeartbeat(id, stats);
  Deliver();
  return known;
}

bool WorkerRegistry::RecordHeartbeat(const std::string& id, const WorkerStats& stats) {
  MutexLock lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return false;
  WorkerRecord& w = it->second;
  if (!w.live) {
    ALLUVIUM_LOG(INFO, "worker {} is back at {}", id, w.address);
    w.live = true;
    ++version_;
    events_.emplace_back(w, true);
  }
  w.last_heartbeat = clock_();
  w.last_heartbeat_unix_ms = UnixMillis();
  w.stats = stats;
  SweepLocked();  // the others' heartbeats are what notice a silent worker promptly
  return true;
}

void WorkerRegistry::SweepLocked() {
  const auto now = clock_();
  int64_t live = 0;
  for (auto& [id, w] : workers_) {
    if (w.live && now - w.last_heartbeat > timeout_) {
      ALLUVIUM_LOG(
          WARN, "worker {} at {} lost: no heartbeat for {} ms", id, w.address,
          std::chrono::duration_cast<std::chrono::milliseconds>(now - w.last_heartbeat).count());
      w.live = false;
      ++version_;
      lost_total.Increment();
      events_.emplace_back(w, false);
    }
    live += w.live ? 1 : 0;
  }
  live_workers.Set(live);
}

void WorkerRegistry::Sweep() {
  {
    MutexLock lock(mu_);
    SweepLocked();
  }
  Deliver();
}

std::vector<WorkerRecord> WorkerRegistry::Snapshot() {
  std::vector<WorkerRecord> out;
  {
    MutexLock lock(mu_);
    SweepLocked();
    out.reserve(workers_.size());
    for (const auto& [id, w] : workers_) out.push_back(w);
  }
  Deliver();
  return out;
}

std::vector<std::string> WorkerRegistry::LiveIds() {
  MutexLock lock(mu_);
  SweepLocked();
  std::vector<std::string> out;
  for (const auto& [id, w] : workers_) {
    if (w.live) out.push_back(id);
  }
  return out;
}

uint64_t WorkerRegistry::version() {
  MutexLock lock(mu_);
  SweepLocked();
  return version_;
}

}  // namespace alluvium::coordinator
