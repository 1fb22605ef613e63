#include "client/metadata_cache.h"

namespace alluvium::client {

bool MetadataCache::Fresh(const CacheRule& rule,
                          std::chrono::steady_clock::time_point cached_at) const {
  const auto age = clock_() - cached_at;
  return rule.type != CacheRuleType::kSkipCache && age < expiration_ &&
         (rule.type != CacheRuleType::kMaxAge || age < rule.max_age);
}

template <typename Value>
const Value* MetadataCache::FindFresh(LruMap<std::string, Value>& map, const std::string& key,
                                      const CacheRule& rule) {
  Value* value = map.Find(key);
  if (value == nullptr) return nullptr;
  if (!Fresh(rule, value->cached_at)) {
    map.Erase(key);
    return nullptr;
  }
  return value;
}

std::optional<FileInfo> MetadataCache::Get(std::string_view uri) {
  const CacheRule rule = filter_.ForMetadata(uri);  // rules may be regexes: not under mu_
  const std::string key(uri);
  MutexLock lock(mu_);
  const Entry* entry = FindFresh(entries_, key, rule);
  if (entry == nullptr) return std::nullopt;
  return entry->info;
}

std::optional<std::vector<FileInfo>> MetadataCache::GetListing(std::string_view uri) {
  const CacheRule rule = filter_.ForMetadata(uri);
  const std::string key(uri);
  std::shared_ptr<const std::vector<std::string>> uris;
  {
    MutexLock lock(mu_);
    const Listing* listing = FindFresh(listings_, key, rule);
    if (listing == nullptr) return std::nullopt;
    uris = listing->uris;
  }
  // The entries' rules are matched without the lock: a filter file's rules are regexes.
  std::vector<CacheRule> rules;
  rules.reserve(uris->size());
  for (const std::string& child : *uris) rules.push_back(filter_.ForMetadata(child));
  std::vector<FileInfo> entries;
  entries.reserve(uris->size());
  MutexLock lock(mu_);
  for (size_t i = 0; i < uris->size(); ++i) {
    // Statuses age (and are evicted) on their own: the listing is as good as its oldest.
    const Entry* entry = FindFresh(entries_, (*uris)[i], rules[i]);
    if (entry == nullptr) {
      // Unless the directory was listed again meanwhile, this listing is of no more use.
      if (const Listing* kept = listings_.Find(key); kept != nullptr && kept->uris == uris) {
        listings_.Erase(key);
      }
      return std::nullopt;
    }
    entries.push_back(entry->info);
  }
  return entries;
}

void MetadataCache::PutListing(std::string_view uri, const std::vector<FileInfo>& entries) {
  if (max_entries_ == 0 || entries.size() > max_entries_ ||
      filter_.ForMetadata(uri).type == CacheRuleType::kSkipCache) {
    return;
  }
  auto uris = std::make_shared<std::vector<std::string>>();
  uris->reserve(entries.size());
  for (const FileInfo& info : entries) uris->push_back(info.uri);
  Listing listing{.uris = std::move(uris), .cached_at = clock_()};
  MutexLock lock(mu_);
  listings_.Put(std::string(uri), std::move(listing));
}

void MetadataCache::Put(const FileInfo& info) {
  if (max_entries_ == 0 || filter_.ForMetadata(info.uri).type == CacheRuleType::kSkipCache) {
    return;
  }
  const auto now = clock_();
  MutexLock lock(mu_);
  entries_.Put(info.uri, Entry{.info = info, .cached_at = now});
}

void MetadataCache::Forget(std::string_view uri) {
  MutexLock lock(mu_);
  // Its parent's listing holds its status: a listing without it is listed again.
  entries_.Erase(std::string(uri));
}

void MetadataCache::Clear() {
  MutexLock lock(mu_);
  entries_.Clear();
  listings_.Clear();
}

size_t MetadataCache::size() const {
  MutexLock lock(mu_);
  return entries_.size();
}

}  // namespace alluvium::client
