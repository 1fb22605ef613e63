#include "pagestore/lru_index.h"

namespace alluvium::pagestore {

const LruIndex::Entry* LruIndex::Find(const PageKey& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &it->second->entry;
}

const LruIndex::Entry* LruIndex::Touch(const PageKey& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return nullptr;
  order_.splice(order_.end(), order_, it->second);  // iterators stay valid
  return &it->second->entry;
}

std::optional<LruIndex::Entry> LruIndex::Insert(const PageKey& key, const Entry& entry) {
  std::optional<Entry> replaced = Remove(key);
  order_.push_back(Victim{.key = key, .entry = entry});
  by_key_.emplace(key, std::prev(order_.end()));
  bytes_ += entry.length;
  return replaced;
}

std::optional<LruIndex::Entry> LruIndex::Remove(const PageKey& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  Entry entry = it->second->entry;
  Erase(it->second);
  return entry;
}

bool LruIndex::RemoveIfGeneration(const PageKey& key, uint64_t generation) {
  auto it = by_key_.find(key);
  if (it == by_key_.end() || it->second->entry.generation != generation) return false;
  Erase(it->second);
  return true;
}

std::optional<LruIndex::Victim> LruIndex::PopLeastRecent() {
  if (order_.empty()) return std::nullopt;
  Victim victim = order_.front();
  Erase(order_.begin());
  return victim;
}

std::optional<LruIndex::Victim> LruIndex::PopLeastRecentIn(uint32_t dir) {
  for (auto it = order_.begin(); it != order_.end(); ++it) {
    if (it->entry.dir == dir) {
      Victim victim = *it;
      Erase(it);
      return victim;
    }
  }
  return std::nullopt;
}

void LruIndex::Erase(Order::iterator it) {
  bytes_ -= it->entry.length;
  by_key_.erase(it->key);
  order_.erase(it);
}

}  // namespace alluvium::pagestore
