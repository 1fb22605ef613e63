// The state of a mount point as the kernel sees it, to refuse a mount that cannot work with a
// message that says why, and to tell when a mount has appeared or gone. Reads /dev/fuse,
// stat(2) and /proc/self/mountinfo; no libfuse. Stateless, so safe anywhere.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace alluvium::fuse {

// The file system type FuseMount gives its mounts in /proc/self/mountinfo.
inline constexpr char kFuseFsType[] = "fuse.alluvium";

// OK if a FUSE file system can be mounted at `mountpoint` (absolute): /dev/fuse opens, and the
// mount point is an existing directory nothing is mounted on. kFailedPrecondition when
// /dev/fuse cannot be opened, the mount point is busy (a mount is there) or is a mount whose
// daemon died; kNotFound if it does not exist; kInvalidArgument if it is not a directory.
Status CheckCanMount(const std::string& mountpoint);

// The type ("fuse.alluvium", "ext4") of the topmost mount at `mountpoint` (absolute, as
// mounted), or nullopt if nothing is mounted there. kInternal if mountinfo cannot be read.
Result<std::optional<std::string>> MountedType(const std::string& mountpoint);

}  // namespace alluvium::fuse
