// When and how long to wait before trying an S3 request again: exponential backoff with full
// jitter (AWS's recommendation: spreads the retries of many clients that failed together).
#pragma once

#include <chrono>
#include <string_view>

#include "common/status.h"

namespace alluvium::ufs::s3 {

class RetryPolicy {
 public:
  RetryPolicy(int max_attempts, std::chrono::milliseconds base, std::chrono::milliseconds cap)
      : max_attempts_(max_attempts), base_(base), cap_(cap) {}

  int max_attempts() const { return max_attempts_; }

  // A uniformly random wait in [0, min(cap, base * 2^(attempt-1))] after failed attempt number
  // `attempt` (1-based).
  std::chrono::milliseconds Backoff(int attempt) const;

  // Worth another try: the server was busy or broken (5xx, 429, S3's SlowDown and RequestTimeout),
  // or the exchange itself failed (timeout, reset, truncated body). Never 403 or 404: asking again
  // does not change the answer.
  static bool Retryable(int http_status, std::string_view s3_error_code);
  static bool Retryable(const Status& transport_error);

 private:
  const int max_attempts_;
  const std::chrono::milliseconds base_;
  const std::chrono::milliseconds cap_;
};

}  // namespace alluvium::ufs::s3
