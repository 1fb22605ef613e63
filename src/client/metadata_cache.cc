#include "client/metadata_cache.h"

namespace alluvium::client {

std::optional<FileInfo> MetadataCache::Get(std::string_view uri) {
  const CacheRule rule = filter_.ForMetadata(uri);
  if (rule.type == CacheRuleType::kSkipCache) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(uri));
  if (it == entries_.end()) return std::nullopt;
  const auto age = clock_() - it->second.cached_at;
  if (age >= expiration_ || (rule.type == CacheRuleType::kMaxAge && age >= rule.max_age)) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.end(), lru_, it->second.lru);
  return it->second.info;
}

void MetadataCache::Put(const FileInfo& info) {
  if (max_entries_ == 0 || filter_.ForMetadata(info.uri).type == CacheRuleType::kSkipCache) {
    return;
  }
  const auto now = clock_();
  std::lock_guard lock(mu_);
  auto [it, fresh] = entries_.try_emplace(info.uri);
  if (fresh) {
    it->second.lru = lru_.insert(lru_.end(), info.uri);
  } else {
    lru_.splice(lru_.end(), lru_, it->second.lru);
  }
  it->second.info = info;
  it->second.cached_at = now;
  while (entries_.size() > max_entries_) {
    entries_.erase(lru_.front());
    lru_.pop_front();
  }
}

void MetadataCache::Forget(std::string_view uri) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(uri));
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void MetadataCache::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  lru_.clear();
}

size_t MetadataCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace alluvium::client
