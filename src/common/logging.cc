#include "common/logging.h"

#include <exception>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace alluvium::logging {

Status Init(const std::string& level, const std::string& file) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return InvalidArgument("unknown log level '" + level + "'");
  }
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (file.empty()) {
      logger = spdlog::stderr_logger_mt("alluvium");
    } else {
      logger = spdlog::basic_logger_mt("alluvium", file);
    }
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ [%t] %v");
    logger->set_level(parsed);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
  } catch (const std::exception& e) {
    return InternalError(std::string("cannot initialise logging: ") + e.what());
  }
  return OkStatus();
}

}  // namespace alluvium::logging
