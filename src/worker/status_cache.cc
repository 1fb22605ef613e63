#include "worker/status_cache.h"
#include "common/clock.h"

#include "common/logging.h"

namespace alluvium::worker {
Result<ufs::FileStatus> StatusCache::Get(std::string_view uri) {
  if (sync_interval_.count() > 0) {
    auto cached = meta_.Get(uri);
    if (cached.ok() && UnixMillis() - cached->cached_at_ms < sync_interval_.count()) {
      return cached->status;
    }
  }
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<ufs::FileSystem> fs, ufs_.For(uri));
  auto status = fs->GetStatus(uri);
  if (!status.ok()) {
    if (status.status().code() == Code::kNotFound) (void)meta_.Delete(uri);
    return status.status();
  }
  Remember(*status);
  return status;
}

void StatusCache::Remember(const ufs::FileStatus& status) {
  // A failed metadata write only costs a later UFS call; the read goes on.
  if (Status st = meta_.Put(status); !st.ok()) {
    ALLUVIUM_LOG(WARN, "metadata store write failed uri={} error={}", status.uri, st);
  }
}

}  // namespace alluvium::worker
