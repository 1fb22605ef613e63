#include "worker/status_cache.h"

#include <algorithm>

#include "common/clock.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace alluvium::worker {
namespace {

metrics::Counter& served_from_store =
    metrics::NewCounter("alluvium_worker_status_cache_hits_total",
                        "File statuses served from the metadata store without asking the UFS.");
metrics::Counter& asked_ufs = metrics::NewCounter(
    "alluvium_worker_status_ufs_requests_total",
    "File statuses fetched from the UFS (misses, expired maxAge entries, skipCache paths).");

}  // namespace

StatusCache::StatusCache(metastore::MetaStore& meta, UfsRegistry& ufs, CacheFilter& filter,
                         Clock clock)
    : meta_(meta), ufs_(ufs), filter_(filter), clock_(clock ? std::move(clock) : UnixMillis) {}

Result<ufs::FileStatus> StatusCache::Get(std::string_view uri,
                                         std::optional<std::chrono::milliseconds> max_age) {
  const CacheRule rule = filter_.ForMetadata(uri);
  if (rule.type == CacheRuleType::kMaxAge) {
    max_age = max_age ? std::min(*max_age, rule.max_age) : rule.max_age;
  }
  if (rule.type != CacheRuleType::kSkipCache) {
    // A store that fails (closed after a disk error, an entry that does not decode) is a miss.
    auto cached = meta_.Get(uri);
    if (cached.ok() && (!max_age || clock_() - cached->cached_at_ms < max_age->count())) {
      served_from_store.Increment();
      return cached->status;
    }
  }
  asked_ufs.Increment();
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<ufs::FileSystem> fs, ufs_.For(uri));
  auto status = fs->GetStatus(uri);
  if (!status.ok()) {
    if (status.status().code() == Code::kNotFound) Forget(uri);
    return status.status();
  }
  if (rule.type != CacheRuleType::kSkipCache) Remember(*status);
  return status;
}

void StatusCache::Remember(const ufs::FileStatus& status) {
  // A failed metadata write only costs a later UFS call; the read goes on.
  if (Status st = meta_.Put(status); !st.ok()) {
    ALLUVIUM_LOG(WARN, "metadata store write failed uri={} error={}", status.uri, st);
  }
}

void StatusCache::Forget(std::string_view uri) { (void)meta_.Delete(uri); }

}  // namespace alluvium::worker
