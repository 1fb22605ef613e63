// The in-memory index of pages on disk, in least-recently-used order, with their total size.
// Not thread-safe: PageStore guards it with its mutex and does no I/O while holding it.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>

#include "pagestore/page_key.h"

namespace alluvium::pagestore {

class LruIndex {
 public:
  struct Entry {
    uint64_t length = 0;      // bytes of page data
    uint32_t dir = 0;         // index into the store's dirs
    uint64_t generation = 0;  // unique per Put, so a late cleanup never drops a newer version
  };
  struct Victim {
    PageKey key;
    Entry entry;
  };

  // nullptr if absent. Does not change recency.
  const Entry* Find(const PageKey& key) const;
  // Like Find, and makes the page the most recently used.
  const Entry* Touch(const PageKey& key);
  // Adds or replaces the page as the most recently used; returns the replaced entry.
  std::optional<Entry> Insert(const PageKey& key, const Entry& entry);
  // Removes the page if present.
  std::optional<Entry> Remove(const PageKey& key);
  // Removes the page only if it is still the version `generation`.
  bool RemoveIfGeneration(const PageKey& key, uint64_t generation);
  // Removes and returns the least recently used page, or nullopt when empty.
  std::optional<Victim> PopLeastRecent();
  // Same, among the pages in one dir (for freeing space on a full disk). O(pages) worst case,
  // which is fine for that rare path.
  std::optional<Victim> PopLeastRecentIn(uint32_t dir);

  uint64_t pages() const { return order_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  using Order = std::list<Victim>;  // front: least recently used

  void Erase(Order::iterator it);

  Order order_;
  std::unordered_map<PageKey, Order::iterator, PageKeyHash> by_key_;
  uint64_t bytes_ = 0;
};

}  // namespace alluvium::pagestore
