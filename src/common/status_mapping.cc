#include "common/status_mapping.h"

#include <cerrno>
#include <cstring>

namespace alluvium {

int HttpStatusOf(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
    case Code::kOutOfRange:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
    case Code::kAborted:
      return 409;
    case Code::kResourceExhausted:
      return 429;
    case Code::kUnimplemented:
      return 501;
    case Code::kUnavailable:
      return 503;
    case Code::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

bool WorthAnotherWorker(const Status& status) {
  switch (status.code()) {
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kCancelled:
    case Code::kUnknown:
    case Code::kInternal:
    case Code::kResourceExhausted:
    case Code::kUnimplemented:
      return true;
    default:
      return false;
  }
}

Status FromErrno(int err, std::string_view context) {
  std::string message = fmt::format("{}: {}", context, std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFound(std::move(message));
    case EACCES:
    case EPERM:
      return PermissionDenied(std::move(message));
    case ENOSPC:
    case EDQUOT:
      return ResourceExhausted(std::move(message));
    case EEXIST:
      return AlreadyExists(std::move(message));
    case EISDIR:
    case EINVAL:
    case ENAMETOOLONG:
      return InvalidArgument(std::move(message));
    case EIO:
      return DataLoss(std::move(message));
    case EAGAIN:
    case EINTR:
      return Unavailable(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

}  // namespace alluvium
