#include "rocks/rocks_util.h"

#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>

#include "common/logging.h"

namespace alluvium::rocks {
namespace {

class ForwardingLogger final : public rocksdb::Logger {
 public:
  ForwardingLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      ALLUVIUM_LOG(ERROR, "rocksdb: {}", line);
    } else {
      ALLUVIUM_LOG(WARN, "rocksdb: {}", line);
    }
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> MakeLogger() { return std::make_shared<ForwardingLogger>(); }

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return OkStatus();
  std::string message = fmt::format("{}: {}", context, s.ToString());
  if (s.IsCorruption()) return DataLoss(std::move(message));
  if (s.IsNotFound()) return NotFound(std::move(message));
  if (s.IsNoSpace()) return ResourceExhausted(std::move(message));
  if (s.IsInvalidArgument()) return InvalidArgument(std::move(message));
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Unavailable(std::move(message));
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return FailedPrecondition(message + " (is another process using this directory?)");
  }
  return InternalError(std::move(message));
}

}  // namespace alluvium::rocks
