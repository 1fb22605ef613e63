#include "worker/rate_limiter.h"

#include <algorithm>

namespace alluvium::worker {
namespace {

double BurstOf(uint64_t rate, uint64_t min_burst) {
  return static_cast<double>(std::max(min_burst, rate / 10));
}

}  // namespace

RateLimiter::RateLimiter(uint64_t bytes_per_sec, uint64_t min_burst)
    : min_burst_(min_burst),
      rate_(bytes_per_sec),
      burst_(BurstOf(bytes_per_sec, min_burst)),
      tokens_(burst_),
      refilled_at_(Clock::now()) {}

bool RateLimiter::Acquire(uint64_t bytes, std::stop_token stop) {
  UniqueMutexLock lock(mu_);
  if (rate_ == 0 || bytes == 0) return true;
  const Clock::time_point now = Clock::now();
  const double rate = static_cast<double>(rate_);
  tokens_ =
      std::min(burst_, tokens_ + std::chrono::duration<double>(now - refilled_at_).count() * rate);
  refilled_at_ = now;
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ >= 0) return true;

  // Reserve now, wait out the debt: later callers see the larger debt and wait longer, which
  // serves callers in arrival order and keeps the mutex out of the sleep.
  const auto wait =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / rate));
  wake_.wait_until(lock, stop, now + wait, [] { return false; });
  if (!stop.stop_requested()) return true;
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(bytes));  // give the reservation back
  return false;
}

void RateLimiter::SetRate(uint64_t bytes_per_sec) {
  MutexLock lock(mu_);
  if (bytes_per_sec == rate_) return;
  const Clock::time_point now = Clock::now();
  if (rate_ != 0) {  // settle what accrued at the old rate
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - refilled_at_).count() *
                                             static_cast<double>(rate_));
  }
  refilled_at_ = now;
  rate_ = bytes_per_sec;
  burst_ = BurstOf(bytes_per_sec, min_burst_);
  tokens_ = std::min(tokens_, burst_);
}

uint64_t RateLimiter::rate() const {
  MutexLock lock(mu_);
  return rate_;
}

std::shared_ptr<RateLimiter> RateLimiterRegistry::For(std::string_view job_id,
                                                      uint64_t bytes_per_sec) {
  MutexLock lock(mu_);
  const auto now = RateLimiter::Clock::now();
  if (now - swept_at_ >= idle_ttl_ / 2) DropIdleLocked(now);
  auto it = by_job_.find(std::string(job_id));
  if (it == by_job_.end()) {
    if (bytes_per_sec == 0) return nullptr;
    it = by_job_
             .emplace(std::string(job_id),
                      Entry{std::make_shared<RateLimiter>(bytes_per_sec, min_burst_), now})
             .first;
  } else {
    it->second.limiter->SetRate(bytes_per_sec);
    it->second.last_used = now;
  }
  return it->second.limiter;
}

size_t RateLimiterRegistry::size() const {
  MutexLock lock(mu_);
  return by_job_.size();
}

void RateLimiterRegistry::DropIdleLocked(RateLimiter::Clock::time_point now) {
  swept_at_ = now;
  std::erase_if(by_job_, [&](const auto& kv) {
    // use_count 1: only the map holds it, so no request of the job is running here.
    return kv.second.limiter.use_count() == 1 && now - kv.second.last_used >= idle_ttl_;
  });
}

}  // namespace alluvium::worker
