// The cache filter policy in force: read from the rules file named by
// alluvium.user.client.cache.filter.config.file and re-read lazily, by the first call that comes
// after alluvium.user.client.cache.filter.config.check.interval has passed (no thread of its own).
// A re-read that fails (file gone, bad JSON) keeps the last good policy and logs a WARN once per
// distinct error. Without a file, the default policy: everything immutable.
// Safe for concurrent use; the file is read outside the lock, other callers keep the old policy
// meanwhile.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/cache_filter_policy.h"
#include "common/mutex.h"
#include "common/status.h"

namespace alluvium {

struct CacheFilterOptions {
  std::filesystem::path file;  // empty: the default policy, nothing to re-read
  // Alluxio's examples use 5min; 1min picks up an edited file sooner for one small read a minute.
  std::chrono::milliseconds check_interval = std::chrono::minutes(1);
};

class CacheFilter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Reads and parses options.file. kInvalidArgument naming the file and the problem if it cannot
  // be read or is not a valid policy: a bad file is refused at startup, not used half-way.
  static Result<std::unique_ptr<CacheFilter>> Open(const CacheFilterOptions& options,
                                                   Clock clock = std::chrono::steady_clock::now);

  // A fixed policy, never re-read.
  explicit CacheFilter(CacheFilterPolicy policy = {});

  // The current policy, re-reading the file first if the check interval has passed.
  std::shared_ptr<const CacheFilterPolicy> Current();

  CacheRule ForMetadata(std::string_view uri) { return Current()->ForMetadata(uri); }
  CacheRule ForData(std::string_view uri) { return Current()->ForData(uri); }

 private:
  CacheFilter(const CacheFilterOptions& options, Clock clock, std::string text,
              CacheFilterPolicy policy);
  void Reread();

  const CacheFilterOptions options_;
  const Clock clock_;

  Mutex mu_;
  std::shared_ptr<const CacheFilterPolicy> policy_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point next_check_ GUARDED_BY(mu_);
  bool rereading_ GUARDED_BY(mu_) = false;  // : one re-read at a time
  std::string text_;        // the file's text behind policy_; only the re-reading thread uses it
  std::string last_error_;  // likewise: the last re-read error logged
};

}  // namespace alluvium
