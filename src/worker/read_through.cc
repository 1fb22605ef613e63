#include "worker/read_through.h"

#include <algorithm>

#include "common/logging.h"
#include "common/metrics.h"

namespace alluvium::worker {
namespace {

metrics::Counter& cache_bytes = metrics::NewCounter("alluvium_worker_read_cache_bytes_total",
                                                    "Bytes served to readers from the page store.");
metrics::Counter& ufs_bytes = metrics::NewCounter(
    "alluvium_worker_read_ufs_bytes_total", "Bytes served to readers straight after a UFS fetch.");
metrics::Counter& ufs_pages = metrics::NewCounter("alluvium_worker_ufs_fetched_pages_total",
                                                  "Pages fetched from the UFS by reads.");

}  // namespace

Status ReadThrough::Read(const ufs::FileStatus& file, uint64_t offset, uint64_t length,
                         const Sink& sink, bool use_cache, const BufferFor& buffer_for) {
  if (offset >= file.length || length == 0) return OkStatus();
  const uint64_t end = std::min(file.length, offset + std::min(length, file.length - offset));
  const uint64_t page_size = store_.page_size();
  const pagestore::FileId id = pagestore::FileIdOf(file.uri, file.version);
  std::vector<std::byte> own_buffer;
  if (!buffer_for) own_buffer.resize(page_size);

  for (uint64_t pos = offset; pos < end;) {
    const pagestore::PageKey key{id, pos / page_size};
    const uint64_t in_page = pos % page_size;
    const uint64_t want = std::min(end - pos, page_size - in_page);

    if (use_cache) {
      const std::span<std::byte> buffer =
          buffer_for ? buffer_for(want) : std::span(own_buffer.data(), want);
      auto cached = store_.Read(key, in_page, buffer);
      if (cached.ok() && *cached == want) {
        ALLUVIUM_LOG(DEBUG, "page served uri={} page={} source=cache", file.uri, key.index);
        cache_bytes.Increment(want);
        ALLUVIUM_RETURN_IF_ERROR(sink(pos, buffer, PageSource::kCache));
        pos += want;
        continue;
      }
      if (!cached.ok() && cached.status().code() != Code::kNotFound &&
          cached.status().code() != Code::kDataLoss) {
        ALLUVIUM_LOG(WARN, "page store read failed uri={} page={} error={} action=refetch",
                     file.uri, key.index, cached.status());
      }
    }

    auto page = use_cache ? inflight_.Do(key, [&] { return FetchPage(file, key); })
                          : ReadFromUfs(file, key);
    if (!page.ok()) return page.status();
    const std::vector<std::byte>& bytes = **page;
    if (bytes.size() < in_page + want) {
      return Aborted(
          fmt::format("{} changed while being read (page {} is short)", file.uri, key.index));
    }
    ALLUVIUM_LOG(DEBUG, "page served uri={} page={} source=ufs", file.uri, key.index);
    ufs_bytes.Increment(want);
    ALLUVIUM_RETURN_IF_ERROR(sink(pos, std::span(bytes.data() + in_page, want), PageSource::kUfs));
    pos += want;
  }
  return OkStatus();
}

uint64_t ReadThrough::PageLength(const ufs::FileStatus& file, uint64_t index) const {
  return std::min(store_.page_size(), file.length - index * store_.page_size());
}

Result<ReadThrough::PageBytes> ReadThrough::FetchPage(const ufs::FileStatus& file,
                                                      const pagestore::PageKey& key) {
  const uint64_t expected = PageLength(file, key.index);
  auto bytes = std::make_shared<std::vector<std::byte>>(expected);
  // Another reader may have fetched and stored the page between our miss and this call.
  if (auto cached = store_.Read(key, 0, *bytes); cached.ok() && *cached == expected) {
    return PageBytes(std::move(bytes));
  }
  ALLUVIUM_ASSIGN_OR_RETURN(PageBytes fetched, ReadFromUfs(file, key));
  // The read is served even if caching fails (disk full, nothing evictable).
  if (Status st = store_.Put(key, *fetched); !st.ok()) {
    ALLUVIUM_LOG(WARN, "page not cached uri={} page={} error={}", file.uri, key.index, st);
  }
  return fetched;
}

Result<ReadThrough::PageBytes> ReadThrough::ReadFromUfs(const ufs::FileStatus& file,
                                                        const pagestore::PageKey& key) {
  const uint64_t page_offset = key.index * store_.page_size();
  const uint64_t expected = PageLength(file, key.index);
  auto bytes = std::make_shared<std::vector<std::byte>>(expected);
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<ufs::FileSystem> fs, ufs_.For(file.uri));
  ALLUVIUM_ASSIGN_OR_RETURN(auto reader, fs->Open(file.uri, {.expected_version = file.version}));
  uint64_t got = 0;
  while (got < expected) {
    ALLUVIUM_ASSIGN_OR_RETURN(size_t n,
                              reader->ReadAt(page_offset + got, std::span(*bytes).subspan(got)));
    if (n == 0) break;
    got += n;
  }
  if (got < expected) {
    return Aborted(fmt::format("{} changed while being read: expected {} bytes at {}, got {}",
                               file.uri, expected, page_offset, got));
  }
  ufs_pages.Increment();
  return PageBytes(std::move(bytes));
}

}  // namespace alluvium::worker
