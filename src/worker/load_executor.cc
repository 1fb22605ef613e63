#include "worker/load_executor.h"

#include <algorithm>

#include "common/logging.h"
#include "common/metrics.h"
#include "metastore/meta_store.h"

namespace alluvium::worker {
namespace {

metrics::Counter& items_total = metrics::NewCounter(
    "alluvium_worker_load_items_total", "Load items (file segments, directories) processed.");
metrics::Counter& bytes_total = metrics::NewCounter(
    "alluvium_worker_load_bytes_total", "Bytes read from the UFS and cached by load jobs.");
metrics::Counter& skipped_bytes_total =
    metrics::NewCounter("alluvium_worker_load_skipped_bytes_total",
                        "Bytes load jobs did not read from the UFS because they were cached.");
metrics::Counter& failures_total =
    metrics::NewCounter("alluvium_worker_load_failures_total",
                        "Load items that ended with an error, cancellations included.");

constexpr auto kCancelPollInterval = std::chrono::milliseconds(100);

// The end of the item's segment, clipped to the file: [item.offset, end) is what to cache.
uint64_t SegmentEnd(const LoadItem& item) {
  const uint64_t length = item.status.length;
  if (item.status.is_directory || item.offset >= length) return item.offset;
  return item.offset + std::min(item.length, length - item.offset);
}

}  // namespace

Status LoadExecutorOptions::Validate() const {
  if (threads < 1)
    return InvalidArgument(fmt::format("load threads must be >= 1, not {}", threads));
  if (max_queued_items < 1) return InvalidArgument("load queue must hold at least one item");
  return OkStatus();
}

// One Run call's state, on its stack; tasks point at it until the last one finishes.
struct LoadExecutor::Batch {
  const LoadBatch& request;
  RateLimiter* limiter;  // nullptr: unthrottled
  pagestore::PinGroup pin;
  std::vector<ItemResult>& results;
  std::stop_source stop;  // the caller's stop, its cancel poll and Stop() all request this

  std::mutex mu;
  std::condition_variable done;
  size_t remaining = 0;  // guarded by mu
};

LoadExecutor::LoadExecutor(const LoadExecutorOptions& options, pagestore::PageStore& store,
                           UfsRegistry& ufs, metastore::MetaStore& meta)
    : options_(options),
      store_(store),
      ufs_(ufs),
      meta_(meta),
      page_size_(store.page_size()),
      capacity_bytes_(store.stats().page_capacity_bytes),
      limiters_(store.page_size(), options.limiter_idle_ttl),
      pins_(store, options.pin_idle_timeout) {}

void LoadExecutor::Start() {
  MutexLock guard(stop_mu_);
  if (!threads_.empty() || stopping_.stop_requested()) return;
  {
    MutexLock lock(mu_);
    accepting_ = true;
  }
  threads_.reserve(static_cast<size_t>(options_.threads));
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this](std::stop_token stop) { Work(stop); });
  }
}

void LoadExecutor::Stop() {
  MutexLock guard(stop_mu_);
  {
    MutexLock lock(mu_);
    accepting_ = false;
  }
  stopping_.request_stop();  // items in progress end at their next page
  for (auto& thread : threads_) thread.request_stop();
  threads_.clear();  // joins
  std::deque<Task> left;
  {
    MutexLock lock(mu_);
    left.swap(queue_);
  }
  for (const Task& task : left) {
    Finish(task, {.status = Cancelled("load cancelled: the worker is stopping")});
  }
}

std::vector<ItemResult> LoadExecutor::Run(const LoadBatch& batch, std::stop_token stop,
                                          const std::function<bool()>& cancelled) {
  const size_t n = batch.items.size();
  std::vector<ItemResult> results(n);
  if (n == 0) return results;

  const std::shared_ptr<RateLimiter> limiter = limiters_.For(batch.job_id, batch.bandwidth);
  Batch b{.request = batch,
          .limiter = limiter.get(),
          .pin = batch.pin ? pins_.For(batch.job_id) : pagestore::kNoPin,
          .results = results};
  b.remaining = n;
  const std::stop_callback on_caller_stop(stop, [&] { b.stop.request_stop(); });
  const std::stop_callback on_executor_stop(stopping_.get_token(), [&] { b.stop.request_stop(); });

  bool accepting = false;
  size_t queued = 0;
  {
    MutexLock lock(mu_);
    accepting = accepting_;
    if (accepting) {
      queued = std::min(
          n, options_.max_queued_items - std::min(options_.max_queued_items, queue_.size()));
      for (size_t i = 0; i < queued; ++i) queue_.push_back({&b, i});
    }
  }
  if (queued == 1) {
    ready_.notify_one();
  } else if (queued > 1) {
    ready_.notify_all();
  }
  if (queued < n) {
    const Status rejected =
        accepting ? ResourceExhausted(fmt::format("load queue full ({} items); retry later",
                                                  options_.max_queued_items))
                  : Cancelled("load executor is not running");
    for (size_t i = queued; i < n; ++i) results[i].status = rejected;
    failures_total.Increment(n - queued);
    std::lock_guard lock(b.mu);
    b.remaining -= n - queued;
  }

  std::unique_lock lock(b.mu);
  if (!cancelled) {
    b.done.wait(lock, [&] { return b.remaining == 0; });
  } else {
    while (!b.done.wait_for(lock, kCancelPollInterval, [&] { return b.remaining == 0; })) {
      if (cancelled()) b.stop.request_stop();
    }
  }
  return results;
}

std::vector<uint64_t> LoadExecutor::CachedBytes(const std::vector<LoadItem>& items) {
  std::vector<uint64_t> cached(items.size(), 0);
  for (size_t i = 0; i < items.size(); ++i) {
    const LoadItem& item = items[i];
    const uint64_t end = SegmentEnd(item);
    const pagestore::FileId id = pagestore::FileIdOf(item.status.uri, item.status.version);
    for (uint64_t p = item.offset / page_size_; p * page_size_ < end; ++p) {
      if (!store_.ContainsOnDisk({id, p})) continue;
      cached[i] += std::min(end, (p + 1) * page_size_) - std::max(item.offset, p * page_size_);
    }
  }
  return cached;
}

void LoadExecutor::Work(std::stop_token stop) {
  std::vector<std::byte> buffer;  // one page for readers that copy, reused for every item
  while (true) {
    Task task;
    {
      UniqueMutexLock lock(mu_);
      // On stop, still drains the queue: those items end at once as cancelled.
      if (!ready_.wait(lock, stop, [&] {
            mu_.AssertHeld();  // the wait holds it around its predicate
            return !queue_.empty();
          }))
        return;
      task = queue_.front();
      queue_.pop_front();
    }
    Finish(task, LoadOne(*task.batch, task.batch->request.items[task.index], buffer));
  }
}

void LoadExecutor::Finish(const Task& task, ItemResult result) {
  Batch& b = *task.batch;
  b.results[task.index] = std::move(result);
  // Notify under the lock: once remaining hits 0 and the lock is released, Run may return and
  // destroy `b`.
  std::lock_guard lock(b.mu);
  if (--b.remaining == 0) b.done.notify_one();
}

ItemResult LoadExecutor::LoadOne(const Batch& batch, const LoadItem& item,
                                 std::vector<std::byte>& buffer) {
  ItemResult result;
  if (batch.stop.stop_requested()) {
    failures_total.Increment();
    result.status = Cancelled(fmt::format("load of {} cancelled", item.status.uri));
    return result;
  }
  items_total.Increment();
  if (!batch.request.metadata_only && !item.status.is_directory) {
    result.status = LoadPages(batch, item, buffer, result);
    // Pinned after the job was released (a late item of an ended job): let go again.
    if (batch.pin != pagestore::kNoPin && !pins_.Live(batch.pin)) store_.Unpin(batch.pin);
  }
  const Code code = result.status.code();
  if (code == Code::kNotFound || code == Code::kAborted) {
    // The UFS contradicts the listing: drop what we knew, so stat asks the UFS again.
    (void)meta_.Delete(item.status.uri);
  } else if (code != Code::kInvalidArgument) {
    // Recorded even if the data could not all be cached: the status itself is right.
    if (Status st = meta_.Put(item.status); !st.ok()) {
      ALLUVIUM_LOG(WARN, "metadata store write failed uri={} error={}", item.status.uri, st);
    }
  }
  if (!result.status.ok()) failures_total.Increment();
  ALLUVIUM_LOG(DEBUG, "load item job={} uri={} offset={} loaded={} skipped={} status={}",
               batch.request.job_id, item.status.uri, item.offset, result.bytes_loaded,
               result.bytes_skipped, result.status);
  return result;
}

Status LoadExecutor::LoadPages(const Batch& batch, const LoadItem& item,
                               std::vector<std::byte>& buffer, ItemResult& result) {
  const ufs::FileStatus& file = item.status;
  if (item.offset % page_size_ != 0) {
    return InvalidArgument(
        fmt::format("{}: segment offset {} is not a multiple of the page size {}", file.uri,
                    item.offset, page_size_));
  }
  const uint64_t end = SegmentEnd(item);
  if (end <= item.offset) return OkStatus();  // empty file or segment
  if (end - item.offset > capacity_bytes_) {
    // Its own later pages would evict its earlier ones: it would never be fully cached.
    return FailedPrecondition(
        fmt::format("{}: segment of {} bytes at {} is larger than the page store ({} bytes)",
                    file.uri, end - item.offset, item.offset, capacity_bytes_));
  }

  std::string why;
  std::optional<LoadPins::Reservation> room =
      batch.pin == pagestore::kNoPin
          ? std::nullopt
          : pins_.Reserve(batch.pin, end - item.offset, capacity_bytes_, why);
  if (batch.pin != pagestore::kNoPin && !room) {
    return FailedPrecondition(fmt::format("{}: segment at {}: {}", file.uri, item.offset, why));
  }
  const std::stop_token stop = batch.stop.get_token();
  const pagestore::FileId id = pagestore::FileIdOf(file.uri, file.version);
  const uint64_t first = item.offset / page_size_;
  const uint64_t last = (end + page_size_ - 1) / page_size_;  // exclusive
  const bool skip = batch.request.skip_if_exists;
  // A page found cached counts as loaded only once it is pinned (when the job pins): from then
  // on it stays, whatever the job loads next.
  auto cached = [&](const pagestore::PageKey& key) {
    return batch.pin == pagestore::kNoPin ? store_.Contains(key) : store_.Pin(key, batch.pin);
  };
  if (skip) {
    bool all = true;
    for (uint64_t p = first; p < last && all; ++p) all = cached({id, p});
    if (all) {
      result.bytes_skipped = end - item.offset;
      skipped_bytes_total.Increment(result.bytes_skipped);
      return OkStatus();
    }
  }

  std::shared_ptr<ufs::FileSystem> fs;      // kept alive while its reader is
  std::unique_ptr<ufs::FileReader> reader;  // opened at the first page not cached
  for (uint64_t p = first; p < last; ++p) {
    if (stop.stop_requested()) return Cancelled(fmt::format("load of {} cancelled", file.uri));
    const pagestore::PageKey key{id, p};
    const uint64_t page_offset = p * page_size_;
    const uint64_t page_length = std::min(page_size_, file.length - page_offset);
    const uint64_t in_segment = std::min(end, page_offset + page_length) - page_offset;
    // Pages of one (uri, version) never change, so a cached one needs no second read.
    if (cached(key)) {
      if (room) room->Used(page_length);
      (skip ? result.bytes_skipped : result.bytes_loaded) += in_segment;
      skipped_bytes_total.Increment(in_segment);
      continue;
    }
    if (reader == nullptr) {
      ALLUVIUM_ASSIGN_OR_RETURN(fs, ufs_.For(file.uri));
      // Sequential to the segment's end, plus the byte that shows whether the file grew.
      ALLUVIUM_ASSIGN_OR_RETURN(reader, fs->Open(file.uri, {.expected_version = file.version,
                                                            .sequential_until = end + 1}));
    }
    if (batch.limiter != nullptr && !batch.limiter->Acquire(page_length, stop)) {
      return Cancelled(fmt::format("load of {} cancelled", file.uri));
    }
    // A short (last) page is read with a byte to spare, so a file that grew shows too.
    const size_t want = page_length < page_size_ ? page_length + 1 : page_length;
    ALLUVIUM_ASSIGN_OR_RETURN(std::span<const std::byte> page,
                              reader->ReadView(page_offset, want, buffer));
    if (page.size() != page_length) {
      return Aborted(fmt::format(
          "{} changed since it was listed: expected {} bytes at offset {}, the UFS has {}",
          file.uri, page_length, page_offset,
          page.size() > page_length ? "more" : std::to_string(page.size())));
    }
    if (Status st = store_.Put(key, page, batch.pin); !st.ok()) {
      return st.WithContext(fmt::format("caching page {} of {}", p, file.uri));
    }
    if (room) room->Used(page_length);
    result.bytes_loaded += in_segment;
    bytes_total.Increment(in_segment);
  }
  return OkStatus();
}

}  // namespace alluvium::worker
