// The mount table carried in ClusterInfo, back as a MountTable: one conversion for every reader
// of ClusterInfo (clients route with it). Its options have their secrets masked ("******"), so
// nothing may take UFS settings from it: workers ask GetMountOptions.
#pragma once

#include "alluvium.pb.h"
#include "mounts/mount_table.h"

namespace alluvium {

inline Result<mounts::MountTable> MountTableFromProto(const rpc::ClusterInfo& info) {
  mounts::MountTable table;
  for (const rpc::MountPoint& m : info.mounts()) {
    mounts::Mount mount{.path = m.path(), .ufs_uri = m.ufs_uri()};
    mount.options.insert(m.options().begin(), m.options().end());
    ALLUVIUM_RETURN_IF_ERROR(table.Add(std::move(mount)));
  }
  return table;
}

}  // namespace alluvium
