// File statuses this client has seen, from GetStatus answers and listings, kept as long as the
// cache filter's metadata rules allow (Alluxio's Cache Filter Policy: immutable, maxAge for that
// age, skipCache never) and never longer than an expiration time (Alluxio's
// alluxio.user.metadata.cache.expiration.time), so that reading a file whose status is known asks
// no worker, and a status a load job refreshed on the workers reaches the client in bounded time.
// Keyed by UFS URI, the form the rules match. Bounded: least recently used entries go first.
//
// It keeps listings too, as the URIs of a directory's entries under the directory's rule, so a
// directory listed again (a data loader listing its dataset every epoch; the kernel's listing
// dropped under memory pressure) asks no worker and no UFS: served only while the status of
// every entry is still kept. Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "common/cache_filter.h"
#include "common/lru_map.h"
#include "common/mutex.h"

namespace alluvium::client {

class MetadataCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  MetadataCache(CacheFilter& filter, size_t max_entries, std::chrono::milliseconds expiration,
                Clock clock = std::chrono::steady_clock::now)
      : filter_(filter),
        max_entries_(max_entries),
        expiration_(expiration),
        clock_(std::move(clock)),
        entries_(max_entries),
        listings_(max_entries == 0 ? 0 : kMaxListings) {}

  // The status of `uri` if it is known and its rule still trusts it.
  std::optional<FileInfo> Get(std::string_view uri);
  // Remembers a status (unless its rule is skipCache or the cache holds nothing).
  void Put(const FileInfo& info);
  // After a read found the file changed or gone.
  void Forget(std::string_view uri);
  // Forgets every status and listing: the next stat or listing of anything asks a worker.
  void Clear();

  // The entries of the directory at `uri` (a listing, not recursive) if one is known, its rule
  // still trusts it, and every entry's status is still kept.
  std::optional<std::vector<FileInfo>> GetListing(std::string_view uri);
  // Remembers a listing whose entries' statuses were just Put (none larger than the status
  // capacity: it could not be served).
  void PutListing(std::string_view uri, const std::vector<FileInfo>& entries);

  size_t size() const;

 private:
  struct Entry {
    FileInfo info;
    std::chrono::steady_clock::time_point cached_at;
  };

  struct Listing {
    // Shared, so that GetListing copies it out of the lock in one step.
    std::shared_ptr<const std::vector<std::string>> uris;
    std::chrono::steady_clock::time_point cached_at;
  };
  // The value kept for `key` if `rule` (the key's) still trusts it; drops it otherwise. Caller
  // holds mu_.
  template <typename Value>
  const Value* FindFresh(LruMap<std::string, Value>& map, const std::string& key,
                         const CacheRule& rule);
  // Whether something cached at `cached_at` under `rule` is still to be trusted.
  bool Fresh(const CacheRule& rule, std::chrono::steady_clock::time_point cached_at) const;

  // Listings kept at most: names only (statuses are in entries_), so a few MiB at most.
  static constexpr size_t kMaxListings = 4096;

  CacheFilter& filter_;
  const size_t max_entries_;
  const std::chrono::milliseconds expiration_;
  const Clock clock_;
  mutable Mutex mu_;
  LruMap<std::string, Entry> entries_ GUARDED_BY(mu_);
  LruMap<std::string, Listing> listings_ GUARDED_BY(mu_);  // by directory URI
};

}  // namespace alluvium::client
