#include "proto/grpc_status.h"

#include "common/status_mapping.h"

namespace alluvium {

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return OkStatus();
  // A negative code turns into a large one, which StatusFromWire refuses too.
  return StatusFromWire(static_cast<uint32_t>(s.error_code()), s.error_message());
}

}  // namespace alluvium
