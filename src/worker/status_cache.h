// File statuses for the worker: served from the metadata store while younger than the sync
// interval, otherwise fetched from the UFS and stored. With interval 0 every call asks the UFS,
// so a changed file always gets a new version (and new pages). Safe for concurrent use.
#pragma once

#include <chrono>
#include <string_view>

#include "common/status.h"
#include "metastore/meta_store.h"
#include "ufs/ufs.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {

class StatusCache {
 public:
  StatusCache(metastore::MetaStore& meta, UfsRegistry& ufs, std::chrono::milliseconds sync_interval)
      : meta_(meta), ufs_(ufs), sync_interval_(sync_interval) {}

  // kNotFound when the UFS has nothing at uri.
  Result<ufs::FileStatus> Get(std::string_view uri);
  // Records a status the worker learnt elsewhere (a listing).
  void Remember(const ufs::FileStatus& status);

 private:
  metastore::MetaStore& meta_;
  UfsRegistry& ufs_;
  const std::chrono::milliseconds sync_interval_;
};

}  // namespace alluvium::worker
