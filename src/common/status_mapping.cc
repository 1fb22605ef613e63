#include "common/status_mapping.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

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

Code CodeOfHttpStatus(int http) {
  if (http >= 200 && http < 300) return Code::kOk;
  switch (http) {
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kAlreadyExists;
    case 429:
      return Code::kResourceExhausted;
    case 501:
      return Code::kUnimplemented;
    case 503:
      return Code::kUnavailable;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      return http >= 400 && http < 500 ? Code::kInvalidArgument : Code::kInternal;
  }
}

std::optional<Code> CodeFromName(std::string_view name) {
  for (uint32_t c = 0; c <= static_cast<uint32_t>(Code::kUnauthenticated); ++c) {
    if (CodeName(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  }
  return std::nullopt;
}

uint32_t CodeToWire(Code code) { return static_cast<uint32_t>(code); }

Status StatusFromWire(uint32_t code, std::string message) {
  if (code == 0) return OkStatus();
  if (code > static_cast<uint32_t>(Code::kUnauthenticated)) {
    return UnknownError(fmt::format("{} (unknown status code {})", message, code));
  }
  return Status(static_cast<Code>(code), std::move(message));
}

Status FromS3(int http, std::string_view s3_code, std::string message) {
  // The S3 error codes that say more than their HTTP status (RequestTimeout and ExpiredToken
  // come as 400, InternalError as 500 like any server error).
  static constexpr std::array<std::pair<std::string_view, Code>, 13> kByS3Code{{
      {"NoSuchKey", Code::kNotFound},
      {"NoSuchBucket", Code::kNotFound},
      {"AccessDenied", Code::kPermissionDenied},
      {"InvalidAccessKeyId", Code::kPermissionDenied},
      {"SignatureDoesNotMatch", Code::kPermissionDenied},
      {"ExpiredToken", Code::kPermissionDenied},
      {"InvalidToken", Code::kPermissionDenied},
      {"SlowDown", Code::kUnavailable},
      {"ServiceUnavailable", Code::kUnavailable},
      {"InternalError", Code::kUnavailable},
      {"RequestTimeout", Code::kUnavailable},
      {"PreconditionFailed", Code::kAborted},
      {"InvalidRange", Code::kOutOfRange},
  }};
  for (const auto& [name, code] : kByS3Code) {
    if (name == s3_code) return Status(code, std::move(message));
  }
  switch (http) {
    case 400:
      return InvalidArgument(std::move(message));
    case 401:
    case 403:
      return PermissionDenied(std::move(message));
    case 404:
      return NotFound(std::move(message));
    case 409:
      return FailedPrecondition(std::move(message));
    case 412:
      return Aborted(std::move(message));
    case 416:
      return OutOfRange(std::move(message));
    default:
      return http >= 500 || http == 429 ? Unavailable(std::move(message))
                                        : UnknownError(std::move(message));
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
