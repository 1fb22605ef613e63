#include "fuse/errno_mapping.h"

#include <cerrno>

namespace alluvium::fuse {

int ErrnoOf(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kPermissionDenied:
      return EACCES;
    case Code::kInvalidArgument:
      return EINVAL;
    default:
      return EIO;
  }
}

}  // namespace alluvium::fuse
