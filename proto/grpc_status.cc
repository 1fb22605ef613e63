#include "proto/grpc_status.h"

namespace alluvium {

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return OkStatus();
  const int code = static_cast<int>(s.error_code());
  if (code < 0 || code > static_cast<int>(Code::kUnauthenticated)) {
    return UnknownError(s.error_message());
  }
  return Status(static_cast<Code>(code), s.error_message());
}

}  // namespace alluvium
