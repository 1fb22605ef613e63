// The coordinator's embedded worker membership: workers join (or rejoin after a restart, with the
// same id), heartbeat, and are marked lost when silent longer than the timeout; a lost worker that
// heartbeats again is live again. Only live workers are in the hash ring. Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/mutex.h"

namespace alluvium::coordinator {

struct WorkerStats {
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t pages = 0;
};

struct WorkerRecord {
  std::string id;
  std::string address;
  bool live = true;
  std::chrono::steady_clock::time_point last_heartbeat;
  int64_t last_heartbeat_unix_ms = 0;
  WorkerStats stats;
};

class WorkerRegistry {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit WorkerRegistry(std::chrono::milliseconds timeout, Clock clock = nullptr);

  void Register(const std::string& id, const std::string& address, const WorkerStats& stats);
  // false when the id is unknown (the worker should register again).
  bool Heartbeat(const std::string& id, const WorkerStats& stats);

  // Every known worker, sorted by id, with lost ones marked.
  std::vector<WorkerRecord> Snapshot();
  // Marks the workers silent past the timeout lost. Heartbeats and lookups do it too, but when
  // every worker goes silent at once neither comes: the coordinator calls this periodically.
  void Sweep();
  // Ids of live workers, sorted: the members of the ring.
  std::vector<std::string> LiveIds();
  // Changes whenever the live set changes; lets callers rebuild rings only when needed.
  uint64_t version();

  // After a coordinator restart: the workers (id -> address) that were members before it. They
  // are live at once, as if they had just heartbeated, so clients and resumed jobs see the same
  // ring as before the restart; one that stays silent past the timeout is marked lost as usual.
  void Restore(const std::map<std::string, std::string>& addresses);
  // False while a restored worker is neither live nor past the timeout since the restart: load
  // jobs wait rather than place segments where reads will not look.
  bool Settled();

  // Called (outside the lock) when a worker joins or is lost, to persist membership.
  using Listener = std::function<void(const WorkerRecord& worker, bool joined)>;
  void SetListener(Listener listener);

 private:
  void SweepLocked() REQUIRES(mu_);  // marks workers past the timeout lost
  void RecordRegistration(const std::string& id, const std::string& address,
                          const WorkerStats& stats);
  bool RecordHeartbeat(const std::string& id, const WorkerStats& stats);

  const std::chrono::milliseconds timeout_;
  const Clock clock_;
  Mutex mu_;
  std::map<std::string, WorkerRecord> workers_ GUARDED_BY(mu_);
  uint64_t version_ GUARDED_BY(mu_) = 0;
  std::vector<std::string> expected_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point started_;
  Listener listener_;                                                  // set before use
  std::vector<std::pair<WorkerRecord, bool>> events_ GUARDED_BY(mu_);  // delivered unlocked
  void Deliver();
};

}  // namespace alluvium::coordinator
