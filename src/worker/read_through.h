// Reads a byte range of a UFS file through the page store: cached pages are served from local
// disk, missing ones are fetched from the UFS, cached and served. Concurrent reads of the same
// missing page fetch it once. Safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"
#include "pagestore/page_store.h"
#include "ufs/ufs.h"
#include "worker/single_flight.h"
#include "worker/ufs_registry.h"

namespace alluvium::worker {

enum class PageSource { kCache, kUfs };

class ReadThrough {
 public:
  // Receives the requested bytes in order, one call per page touched. A non-OK return stops the
  // read and is returned by Read (e.g. the client went away).
  using Sink = std::function<Status(uint64_t file_offset, std::span<const std::byte> data,
                                    PageSource source)>;

  // Where a cached page's bytes are read to: `length` bytes that stay valid until the sink call
  // for them returns. Lets a server read a page straight into the message that carries it; the
  // sink recognises its buffer by address (pages from the UFS come in ReadThrough's own).
  using BufferFor = std::function<std::span<std::byte>(size_t length)>;

  ReadThrough(pagestore::PageStore& store, UfsRegistry& ufs) : store_(store), ufs_(ufs) {}

  // Serves [offset, offset + length) clipped to the file's length. kAborted if the UFS file no
  // longer matches `file` (it changed underneath); UFS errors as the UFS reports them.
  // use_cache false (a skipCache data rule): every page comes from the UFS and none is stored.
  // buffer_for null: cached pages are read into a buffer of ReadThrough's.
  Status Read(const ufs::FileStatus& file, uint64_t offset, uint64_t length, const Sink& sink,
              bool use_cache = true, const BufferFor& buffer_for = nullptr);

 private:
  using PageBytes = std::shared_ptr<const std::vector<std::byte>>;

  // The whole page, from the UFS, stored in the page store on the way.
  Result<PageBytes> FetchPage(const ufs::FileStatus& file, const pagestore::PageKey& key);
  // Bytes of page `index` of the file: the page size, or less for the last page.
  uint64_t PageLength(const ufs::FileStatus& file, uint64_t index) const;
  // The whole page, from the UFS only.
  Result<PageBytes> ReadFromUfs(const ufs::FileStatus& file, const pagestore::PageKey& key);

  pagestore::PageStore& store_;
  UfsRegistry& ufs_;
  SingleFlight<pagestore::PageKey, Result<PageBytes>, pagestore::PageKeyHash> inflight_;
};

}  // namespace alluvium::worker
