// Where Status codes meet the outside world: HTTP, errno, S3 errors, codes sent as integers and
// code names in REST answers. (gRPC conversion lives in the proto library so that only RPC code
// sees gRPC headers; it checks codes with StatusFromWire.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace alluvium {

// InvalidArgument, FailedPrecondition, OutOfRange 400; Unauthenticated 401; PermissionDenied 403;
// NotFound 404; AlreadyExists, Aborted 409; ResourceExhausted 429; Unimplemented 501;
// Unavailable 503; DeadlineExceeded 504; others 500.
int HttpStatusOf(Code code);

// The code an HTTP error status stands for, for an answer that does not name its own: the
// first of HttpStatusOf's codes for it (400 InvalidArgument, 409 AlreadyExists), other 4xx
// InvalidArgument, 5xx Internal but 503 Unavailable and 504 DeadlineExceeded. 2xx is kOk.
Code CodeOfHttpStatus(int http);

// CodeName's inverse ("NOT_FOUND" -> kNotFound), for a code named in an answer (REST error
// bodies carry it as "error"); std::nullopt for a name that is none.
std::optional<Code> CodeFromName(std::string_view name);

// A code as an integer on the wire (rpc::LoadItemResult.code), numbered as gRPC's.
uint32_t CodeToWire(Code code);
// A code off the wire, with its message. A number that is no code (a newer peer, a corrupt
// answer) is kUnknown, and the message says which number it was.
Status StatusFromWire(uint32_t code, std::string message);

// An S3 error answer: by the S3 error code where it says more than the HTTP status (NoSuchKey
// NotFound, SlowDown and InternalError Unavailable, ExpiredToken PermissionDenied, ...), else
// by the status: 400 InvalidArgument, 401/403 PermissionDenied, 404 NotFound, 409
// FailedPrecondition, 412 Aborted, 416 OutOfRange, 429 and 5xx Unavailable, others Unknown.
Status FromS3(int http, std::string_view s3_code, std::string message);

// True for errors after which the same request may succeed on another worker (or later): the
// worker was down, slow, busy or not a worker at all (its port reused by another process).
bool WorthAnotherWorker(const Status& status);

// ENOENT/ENOTDIR -> NotFound, EACCES/EPERM -> PermissionDenied, ENOSPC/EDQUOT -> ResourceExhausted,
// EIO -> DataLoss, EAGAIN/EINTR -> Unavailable, others Internal. Message: "context: strerror".
Status FromErrno(int err, std::string_view context);

}  // namespace alluvium
