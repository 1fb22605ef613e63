// The kernel's read-ahead of a FUSE mount: that of the mount's backing device (bdi), 128 KiB
// unless raised. FUSE's INIT can only lower it, so once the mount answers, the daemon raises it
// through sysfs (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb, root only). With more read-ahead the
// kernel keeps several max_read-sized reads in flight, which the session's threads serve side
// by side (docs/fuse.md, "Reads").
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace alluvium::fuse {

// Sets the read-ahead of the file system mounted at `mountpoint` to `kib` KiB. Waits for the
// mount to answer (a stat of its root). FromErrno's code when sysfs cannot be written (not
// root: kPermissionDenied).
Status SetKernelReadAhead(const std::string& mountpoint, uint32_t kib);

}  // namespace alluvium::fuse
