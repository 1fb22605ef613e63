#include "coordinator/scheduler/listing_prefetcher.h"

#include <utility>

#include "common/logging.h"

namespace alluvium::coordinator {

ListingPrefetcher::ListingPrefetcher(std::unique_ptr<EntrySource> source, Options options)
    : options_(std::move(options)), source_(std::move(source)) {
  thread_ = std::jthread([this](std::stop_token stop) { Prefetch(stop); });
}

ListingPrefetcher::~ListingPrefetcher() {
  thread_.request_stop();
  changed_.notify_all();
  // jthread joins; a source blocked in a listing request returns within its own timeout.
}

void ListingPrefetcher::Prefetch(std::stop_token stop) {
  const size_t capacity = std::max<size_t>(options_.capacity, 1);
  uint64_t files = 0;
  uint64_t bytes = 0;
  bool counting_only = false;
  while (!stop.stop_requested()) {
    Result<std::optional<ufs::FileStatus>> entry = source_->Next();
    if (!entry.ok() || !*entry) {
      // The size first, so that whoever sees the end also sees the size.
      if (entry.ok() && options_.on_listed) options_.on_listed(files, bytes);
      MutexLock lock(mu_);
      if (!counting_only) {
        ended_ = true;
        error_ = entry.ok() ? OkStatus() : entry.status();
        changed_.notify_all();
      } else if (!entry.ok()) {
        // Only the size is lost: the reopened listing meets the same error and reports it.
        ALLUVIUM_LOG(WARN, "counting the listing past {} entries failed: {}", capacity,
                     entry.status().ToString());
      }
      return;
    }
    UniqueMutexLock lock(mu_);
    ++files;
    bytes += (**entry).length;
    if (counting_only) continue;
    if (queue_.size() >= capacity) {
      if (options_.reopen_after) {
        // Count on without keeping entries; Next() relists from the last queued one.
        overflow_after_ = queue_.back().uri;
        counting_only = true;
        changed_.notify_all();
        continue;
      }
      changed_.wait(lock, stop, [&] {
        mu_.AssertHeld();  // the wait holds it around its predicate
        return queue_.size() < capacity;
      });
      if (stop.stop_requested()) return;
    }
    queue_.push_back(std::move(**entry));
    changed_.notify_all();
  }
}

Result<std::optional<ufs::FileStatus>> ListingPrefetcher::Next() {
  if (rest_) return rest_->Next();
  UniqueMutexLock lock(mu_);
  changed_.wait(lock, [&] {
    mu_.AssertHeld();
    return !queue_.empty() || ended_ || overflow_after_;
  });
  if (!queue_.empty()) {
    ufs::FileStatus entry = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return std::optional<ufs::FileStatus>(std::move(entry));
  }
  if (overflow_after_) {
    const std::string after = *overflow_after_;
    lock.unlock();
    ALLUVIUM_ASSIGN_OR_RETURN(rest_, options_.reopen_after(after));
    return rest_->Next();
  }
  if (!error_.ok()) return error_;
  return std::optional<ufs::FileStatus>();
}

}  // namespace alluvium::coordinator
