// File statuses for the worker, served from the metadata store as the cache filter policy's
// metadata rule for the URI allows (docs/metadata.md):
//   - immutable: a cached status is served as long as it is there; the UFS is asked only on a
//     miss. A load job, which lists the UFS, replaces the statuses it touches.
//   - maxAge: a cached status younger than the age is served; an older one is fetched anew.
//   - skipCache: every call asks the UFS, and what it answers is not stored.
// Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "common/cache_filter.h"
#include "common/status.h"
#include "metastore/meta_store.h"
#include "ufs/ufs.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {

class StatusCache {
 public:
  // Wall clock in ms since the epoch, as the metadata store stamps entries (cached_at_ms).
  using Clock = std::function<int64_t()>;

  StatusCache(metastore::MetaStore& meta, UfsRegistry& ufs, CacheFilter& filter,
              Clock clock = nullptr);

  // kNotFound when the UFS has nothing at uri. `max_age`, if set, also refetches a cached status
  // older than that, whatever the metadata rule (a read's data maxAge rule: pages are keyed by
  // version, so checking the version is checking the data).
  Result<ufs::FileStatus> Get(std::string_view uri,
                              std::optional<std::chrono::milliseconds> max_age = std::nullopt);
  // Records a status the worker learnt elsewhere (a listing).
  void Remember(const ufs::FileStatus& status);
  // Drops the cached status, so the next Get asks the UFS: a read found the file changed or gone.
  void Forget(std::string_view uri);

 private:
  metastore::MetaStore& meta_;
  UfsRegistry& ufs_;
  CacheFilter& filter_;
  const Clock clock_;
};

}  // namespace alluvium::worker
