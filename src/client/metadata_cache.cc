#include "client/metadata_cache.h"

namespace alluvium::client {

std::optional<FileInfo> MetadataCache::Get(std::string_view uri) {
  const CacheRule rule = filter_.ForMetadata(uri);
  if (rule.type == CacheRuleType::kSkipCache) return std::nullopt;
  const std::string key(uri);
  std::lock_guard lock(mu_);
  const Entry* entry = entries_.Find(key);
  if (entry == nullptr) return std::nullopt;
  const auto age = clock_() - entry->cached_at;
  if (age >= expiration_ || (rule.type == CacheRuleType::kMaxAge && age >= rule.max_age)) {
    entries_.Erase(key);
    return std::nullopt;
  }
  return entry->info;
}

void MetadataCache::Put(const FileInfo& info) {
  if (max_entries_ == 0 || filter_.ForMetadata(info.uri).type == CacheRuleType::kSkipCache) {
    return;
  }
  const auto now = clock_();
  std::lock_guard lock(mu_);
  entries_.Put(info.uri, Entry{.info = info, .cached_at = now});
}

void MetadataCache::Forget(std::string_view uri) {
  std::lock_guard lock(mu_);
  entries_.Erase(std::string(uri));
}

void MetadataCache::Clear() {
  std::lock_guard lock(mu_);
  entries_.Clear();
}

size_t MetadataCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace alluvium::client
