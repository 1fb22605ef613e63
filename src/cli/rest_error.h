// The coordinator's REST error answers as a Status, so the CLI reports the server's own code:
// the inverse of RestServer::ErrorJson ({"error": "NOT_FOUND", "message": "..."}). Pure.
#pragma once

#include <string_view>

#include "common/status.h"

namespace alluvium::cli {

// The code the body names as "error" (status_mapping's CodeFromName), else the HTTP status's
// (CodeOfHttpStatus), and the body's "message", else the body itself. Never OK: an answer that
// names OK, or a 2xx, with an error body is kUnknown.
Status StatusOfErrorReply(int http_status, std::string_view body);

}  // namespace alluvium::cli
