// Logging through spdlog. ERROR: someone should look. WARN: degraded but going on. INFO: lifecycle
// and job state changes, never per page. DEBUG: per request. Never log credentials.
#pragma once

#include <string>

#include <spdlog/spdlog.h>

#include "common/status.h"

#define ALLUVIUM_LOG_LEVEL_TRACE spdlog::level::trace
#define ALLUVIUM_LOG_LEVEL_DEBUG spdlog::level::debug
#define ALLUVIUM_LOG_LEVEL_INFO spdlog::level::info
#define ALLUVIUM_LOG_LEVEL_WARN spdlog::level::warn
#define ALLUVIUM_LOG_LEVEL_ERROR spdlog::level::err

// ALLUVIUM_LOG(WARN, "page checksum mismatch key={} action=refetch", key);
#define ALLUVIUM_LOG(level, ...) \
  SPDLOG_LOGGER_CALL(spdlog::default_logger_raw(), ALLUVIUM_LOG_LEVEL_##level, __VA_ARGS__)

namespace alluvium::logging {

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and, when `file` is not
// empty, sends logs there instead of stderr. Call once at process start.
Status Init(const std::string& level, const std::string& file = "");

}  // namespace alluvium::logging
