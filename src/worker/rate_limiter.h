// Throttles UFS reads of load jobs to a byte rate. A RateLimiter is a token bucket shared by every
// thread loading for one job on this worker; RateLimiterRegistry hands out the job's bucket so
// that concurrent Load requests of one job draw from the same budget. Both are safe for
// concurrent use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/mutex.h"

namespace alluvium::worker {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `bytes_per_sec` 0 is unlimited. The bucket holds max(min_burst, rate / 10) bytes and starts
  // full, so a short load runs at disk speed for about 100 ms' worth of bytes (or one page).
  RateLimiter(uint64_t bytes_per_sec, uint64_t min_burst);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Blocks until `bytes` may pass at the configured rate; false (and nothing consumed) if `stop`
  // was requested first. A request larger than the bucket is allowed: it leaves the bucket in
  // debt, which later callers wait out, so the long-run rate still holds. Callers are served in
  // arrival order. With rate 0 returns true at once.
  bool Acquire(uint64_t bytes, std::stop_token stop);

  // Takes effect for Acquire calls that start afterwards; callers already waiting keep the wait
  // they were given. 0 removes the limit.
  void SetRate(uint64_t bytes_per_sec);
  uint64_t rate() const;

 private:
  const uint64_t min_burst_;
  mutable Mutex mu_;
  std::condition_variable_any wake_;  // only stop requests wake it; waits end at their deadline
  uint64_t rate_ GUARDED_BY(mu_);     // bytes/s, 0 unlimited
  double burst_ GUARDED_BY(mu_);
  double tokens_ GUARDED_BY(mu_);  // negative: debt of earlier callers
  Clock::time_point refilled_at_ GUARDED_BY(mu_);
};

// One RateLimiter per load job. Entries nobody holds and nobody asked for within `idle_ttl` are
// dropped on a later For() call, so the map stays as small as the set of running jobs.
class RateLimiterRegistry {
 public:
  explicit RateLimiterRegistry(uint64_t min_burst,
                               std::chrono::milliseconds idle_ttl = std::chrono::minutes(5))
      : min_burst_(min_burst), idle_ttl_(idle_ttl) {}

  // The bucket of `job_id`, created at `bytes_per_sec` or set to it if it differs (a request
  // carries this worker's current share of the job's limit, which changes as workers come and
  // go). nullptr when the rate is 0 and the job has no bucket: nothing to throttle.
  std::shared_ptr<RateLimiter> For(std::string_view job_id, uint64_t bytes_per_sec);

  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<RateLimiter> limiter;
    RateLimiter::Clock::time_point last_used;
  };
  void DropIdleLocked(RateLimiter::Clock::time_point now) REQUIRES(mu_);

  const uint64_t min_burst_;
  const std::chrono::milliseconds idle_ttl_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Entry> by_job_ GUARDED_BY(mu_);
  RateLimiter::Clock::time_point swept_at_ GUARDED_BY(mu_){};
};

}  // namespace alluvium::worker
