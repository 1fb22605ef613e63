// Collapses concurrent calls for the same key into one: the first caller runs the work, the
// others wait for its result. Used so that concurrent reads of one missing page fetch it from the
// UFS once. Safe for concurrent use.
#pragma once

#include <future>
#include <unordered_map>

#include "common/mutex.h"

namespace alluvium::worker {

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class SingleFlight {
 public:
  // Runs `work` unless a call for `key` is already running, in which case waits for and returns
  // that call's result. `work` must not throw.
  template <typename Work>
  Value Do(const Key& key, Work&& work) {
    std::promise<Value> promise;
    std::shared_future<Value> running;
    {
      MutexLock lock(mu_);
      auto it = calls_.find(key);
      if (it != calls_.end()) {
        running = it->second;
      } else {
        calls_.emplace(key, promise.get_future().share());
      }
    }
    if (running.valid()) return running.get();

    Value value = work();
    {
      MutexLock lock(mu_);
      calls_.erase(key);
    }
    promise.set_value(value);
    return value;
  }

 private:
  Mutex mu_;
  std::unordered_map<Key, std::shared_future<Value>, Hash> calls_ GUARDED_BY(mu_);
};

}  // namespace alluvium::worker
