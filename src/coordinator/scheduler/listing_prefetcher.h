// Lists ahead of a load job in a thread of its own, so that the job places work while the next
// listing page is on its way, and sizes the dataset in the same listing instead of a second one.
//
// Entries go into a bounded queue that Next() takes them from, in listing order. When the whole
// listing fits in the queue, its end (and so the dataset's size) is known after one listing. A
// bigger one is handled in one of two ways:
//   - with `reopen_after` (a source that can start after a given URI: a tree listing), the
//     prefetcher keeps listing past the bound only to count, and Next(), once the queue is
//     drained, reads on from a listing reopened after the last queued entry. Only what is past
//     the bound is listed twice, and memory stays bounded;
//   - without it (an index file), the prefetcher waits for room, and the size is known when the
//     listing ends.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"
#include "coordinator/scheduler/entry_source.h"

namespace alluvium::coordinator {

class ListingPrefetcher final : public EntrySource {
 public:
  struct Options {
    size_t capacity = 100'000;  // entries held at most (~250 bytes each)
    // Opens a listing of the same files that starts after the given URI (empty: not possible).
    std::function<Result<std::unique_ptr<EntrySource>>(const std::string& after_uri)> reopen_after;
    // Called once, from the prefetching thread, when the whole listing has been read: the
    // number of files and the sum of their lengths, before Next() reports the end. Not called
    // when listing fails or stops.
    std::function<void(uint64_t files, uint64_t bytes)> on_listed;
  };

  ListingPrefetcher(std::unique_ptr<EntrySource> source, Options options);
  ~ListingPrefetcher() override;  // stops and joins the prefetching thread
  ListingPrefetcher(const ListingPrefetcher&) = delete;
  ListingPrefetcher& operator=(const ListingPrefetcher&) = delete;

  // Blocks until an entry is listed, the listing ends, or it fails (the error comes after every
  // entry listed before it, as from the source itself). One consumer thread.
  Result<std::optional<ufs::FileStatus>> Next() override;

 private:
  void Prefetch(std::stop_token stop);

  const Options options_;
  std::unique_ptr<EntrySource> source_;  // the prefetching thread's

  Mutex mu_;
  std::condition_variable_any changed_;
  std::deque<ufs::FileStatus> queue_ GUARDED_BY(mu_);
  bool ended_ GUARDED_BY(mu_) = false;  // the source is exhausted (or failed)
  Status error_ GUARDED_BY(mu_);        // the source's failure, after the queue
  // Set when the queue was full and the prefetcher went on counting only: the URI after which
  // Next() reads from a reopened listing. Guarded by mu_.
  std::optional<std::string> overflow_after_;

  std::unique_ptr<EntrySource> rest_;  // the reopened listing; consumer thread only

  std::jthread thread_;  // last: stopped and joined first
};

}  // namespace alluvium::coordinator
