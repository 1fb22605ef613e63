// Where Status codes meet the outside world: HTTP, errno. (gRPC conversion lives in the
// proto library so that only RPC code sees gRPC headers.)
#pragma once

#include <string_view>

#include "common/status.h"

namespace alluvium {

// InvalidArgument, FailedPrecondition, OutOfRange 400; Unauthenticated 401; PermissionDenied 403;
// NotFound 404; AlreadyExists, Aborted 409; ResourceExhausted 429; Unimplemented 501;
// Unavailable 503; DeadlineExceeded 504; others 500.
int HttpStatusOf(Code code);

// True for errors after which the same request may succeed on another worker (or later): the
// worker was down, slow, busy or not a worker at all (its port reused by another process).
bool WorthAnotherWorker(const Status& status);

// ENOENT/ENOTDIR -> NotFound, EACCES/EPERM -> PermissionDenied, ENOSPC/EDQUOT -> ResourceExhausted,
// EIO -> DataLoss, EAGAIN/EINTR -> Unavailable, others Internal. Message: "context: strerror".
Status FromErrno(int err, std::string_view context);

}  // namespace alluvium
