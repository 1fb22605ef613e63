// The authoritative mount table: changes are persisted in the coordinator store before they are
// visible, and readers get immutable snapshots, so a lookup never waits for a mount change.
// Safe for concurrent use.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "coordinator/store/kv_store.h"
#include "mounts/mount_table.h"

namespace alluvium::coordinator {

class MountManager {
 public:
  // Loads the persisted table. Then mounts `root_uri` at "/" if nothing is there, and each of
  // `extra_mounts` ("/path=uri,/other=uri") whose path is free.
  static Result<std::unique_ptr<MountManager>> Open(KvStore& store, std::string_view root_uri,
                                                    std::string_view extra_mounts);

  Status Mount(mounts::Mount mount);
  Status Unmount(std::string_view path);
  std::shared_ptr<const mounts::MountTable> Snapshot() const;

  explicit MountManager(KvStore& store) : store_(store) {}

 private:
  KvStore& store_;
  mutable std::mutex mu_;  // serialises changes; readers copy the pointer under it
  std::shared_ptr<const mounts::MountTable> table_ = std::make_shared<mounts::MountTable>();
};

}  // namespace alluvium::coordinator
