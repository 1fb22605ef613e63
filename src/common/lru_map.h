// A map that keeps at most `capacity` entries and drops the least recently used one to make
// room: Find and Put make an entry the most recently used. Not thread-safe: its owner locks.
#pragma once

#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

namespace alluvium {

template <typename Key, typename Value>
class LruMap {
 public:
  explicit LruMap(size_t capacity) : capacity_(capacity) {}

  // The entry's value, now the most recently used; nullptr if absent.
  Value* Find(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    order_.splice(order_.end(), order_, it->second.in_order);
    return &it->second.value;
  }

  // Sets the entry (the most recently used now), dropping the least recently used beyond the
  // capacity. With capacity 0 nothing is kept.
  void Put(const Key& key, Value value) {
    if (capacity_ == 0) return;
    auto [it, added] = entries_.try_emplace(key);
    if (added) {
      it->second.in_order = order_.insert(order_.end(), key);
    } else {
      order_.splice(order_.end(), order_, it->second.in_order);
    }
    it->second.value = std::move(value);
    while (entries_.size() > capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }

  void Erase(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    order_.erase(it->second.in_order);
    entries_.erase(it);
  }

  void Clear() {
    entries_.clear();
    order_.clear();
  }

  size_t size() const { return entries_.size(); }

 private:
  struct Slot {
    Value value;
    typename std::list<Key>::iterator in_order;
  };

  const size_t capacity_;
  std::unordered_map<Key, Slot> entries_;
  std::list<Key> order_;  // least recently used first
};

}  // namespace alluvium
