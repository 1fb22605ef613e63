// Status <-> grpc::Status. Codes share numbering, so this is a cast plus the message.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace alluvium {

inline grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

// A code that is none (a newer peer) is kUnknown (StatusFromWire).
Status FromGrpc(const grpc::Status& s);

}  // namespace alluvium
