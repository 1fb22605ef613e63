#include "ufs/s3/retry_policy.h"

#include <algorithm>
#include <random>

namespace alluvium::ufs::s3 {

std::chrono::milliseconds RetryPolicy::Backoff(int attempt) const {
  const int shift = std::clamp(attempt - 1, 0, 20);
  const int64_t ceiling = std::min<int64_t>(cap_.count(), base_.count() << shift);
  thread_local std::minstd_rand random(std::random_device{}());
  return std::chrono::milliseconds(
      std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 0))(random));
}

bool RetryPolicy::Retryable(int http_status, std::string_view s3_error_code) {
  if (http_status >= 500 || http_status == 429) return true;
  return s3_error_code == "SlowDown" || s3_error_code == "RequestTimeout" ||
         s3_error_code == "RequestTimeTooSkewed" || s3_error_code == "InternalError";
}

bool RetryPolicy::Retryable(const Status& error) {
  return error.code() == Code::kUnavailable || error.code() == Code::kDeadlineExceeded;
}

}  // namespace alluvium::ufs::s3
