// Status codes as the kernel's errno answers to FUSE requests. Pure.
#pragma once

#include "common/status.h"

namespace alluvium::fuse {

// kNotFound ENOENT, kPermissionDenied EACCES, kInvalidArgument EINVAL, others EIO (the
// reader cannot act on finer codes, and EIO is what a failing disk gives it).
int ErrnoOf(const Status& status);

}  // namespace alluvium::fuse
