#include "common/cache_filter.h"

#include "common/file_util.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace alluvium {
namespace {

metrics::Counter& reread_errors = metrics::NewCounter(
    "alluvium_cache_filter_reread_errors_total",
    "Re-reads of the cache filter file that failed (the last good rules stay in force).");

Result<CacheFilterPolicy> ParseFile(const std::filesystem::path& file, const std::string& text) {
  auto policy = CacheFilterPolicy::Parse(text);
  if (!policy.ok()) {
    return InvalidArgument(
        fmt::format("cache filter file {}: {}", file.string(), policy.status().message()));
  }
  return policy;
}

Result<std::string> ReadRules(const std::filesystem::path& file) {
  auto text = ReadWholeFile(file);
  if (!text.ok()) {
    return InvalidArgument(fmt::format("cache filter file {}: cannot read it: {}", file.string(),
                                       text.status().ToString()));
  }
  return text;
}

}  // namespace

Result<std::unique_ptr<CacheFilter>> CacheFilter::Open(const CacheFilterOptions& options,
                                                       Clock clock) {
  if (options.file.empty()) return std::make_unique<CacheFilter>();
  ALLUVIUM_ASSIGN_OR_RETURN(std::string text, ReadRules(options.file));
  ALLUVIUM_ASSIGN_OR_RETURN(CacheFilterPolicy policy, ParseFile(options.file, text));
  return std::unique_ptr<CacheFilter>(
      new CacheFilter(options, std::move(clock), std::move(text), std::move(policy)));
}

CacheFilter::CacheFilter(CacheFilterPolicy policy)
    : policy_(std::make_shared<const CacheFilterPolicy>(std::move(policy))) {}

CacheFilter::CacheFilter(const CacheFilterOptions& options, Clock clock, std::string text,
                         CacheFilterPolicy policy)
    : options_(options),
      clock_(std::move(clock)),
      policy_(std::make_shared<const CacheFilterPolicy>(std::move(policy))),
      next_check_(clock_() + options.check_interval),
      text_(std::move(text)) {}

std::shared_ptr<const CacheFilterPolicy> CacheFilter::Current() {
  {
    MutexLock lock(mu_);
    if (options_.file.empty() || rereading_ || clock_() < next_check_) return policy_;
    rereading_ = true;
  }
  Reread();
  MutexLock lock(mu_);
  rereading_ = false;
  next_check_ = clock_() + options_.check_interval;
  return policy_;
}

void CacheFilter::Reread() {
  auto text = ReadRules(options_.file);
  if (text.ok() && *text == text_) return;  // unchanged: nothing to parse
  Status failure = text.status();
  if (text.ok()) {
    auto policy = ParseFile(options_.file, *text);
    if (policy.ok()) {
      last_error_.clear();
      text_ = std::move(*text);
      ALLUVIUM_LOG(INFO, "cache filter rules re-read from {}", options_.file.string());
      MutexLock lock(mu_);
      policy_ = std::make_shared<const CacheFilterPolicy>(std::move(*policy));
      return;
    }
    failure = policy.status();
  }
  reread_errors.Increment();
  if (failure.message() != last_error_) {  // once per distinct problem, not once a minute
    last_error_ = std::string(failure.message());
    ALLUVIUM_LOG(WARN, "{}; keeping the last good cache filter rules", last_error_);
  }
}

}  // namespace alluvium
