// The client's end of short-circuit reads (shortcircuit/protocol.h): one connection to the
// short-circuit socket of a worker on this host, through which it learns where cached pages are
// in the worker's page store files and gets their descriptors, then reads the bytes itself.
// Every 4 KiB block is verified against the page's checksums before any of its bytes are passed
// on (pagestore::ReadPageRange), since the worker may evict and reuse a region at any moment; a
// page that is missing or fails is left to the caller to read through gRPC. Where pages were is
// remembered, so reading them again asks the worker nothing: a remembered place that no longer
// holds the page fails verification and is asked again. Safe for concurrent use: requests on the
// connection take turns, reads of the files run in parallel.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/scoped_fd.h"
#include "common/status.h"
#include "pagestore/page_key.h"
#include "pagestore/page_reader.h"

namespace alluvium::client {

class ShortCircuitChannel {
 public:
  // Connects to the socket at `path` and checks that the worker there is `worker_id` (the same
  // path on another host belongs to another worker). kUnavailable if nothing answers there (the
  // worker is not on this host) or it is another worker.
  static Result<std::unique_ptr<ShortCircuitChannel>> Connect(const std::string& path,
                                                              std::string_view worker_id);

  ShortCircuitChannel(ScopedFd socket, uint64_t page_size)
      : socket_(std::move(socket)), page_size_(page_size) {}

  using Sink = std::function<Status(std::span<const std::byte> data)>;
  // Passes bytes [offset, end) of the file at `uri` whose pages are keyed by `file` to `sink`,
  // in order, a verified page (or the part of one asked for) at a time, and returns how many it
  // passed: fewer than asked when a page is not cached (or the worker's cache filter does not hold
  // the file immutable), fails verification or ends the file; the caller reads the rest another
  // way. Fails with the sink's error, or kUnavailable when the connection broke (drop the channel)
  // before any byte was passed; once some were, a broken connection ends the read short instead, so
  // that the caller counts them, and sets broken().
  //
  // Either way the channel is done: its remembered extents may name files of a worker that has
  // since restarted and wiped them, which its descriptors would keep alive.
  //
  // `in_place`, when given, is where byte `offset` belongs in the caller's memory (room up to
  // `end`): the bytes are read and verified there, and passed to the sink as spans of that
  // memory, so the sink need not copy them. Bytes of a page that failed verification may be
  // left there; they are never passed.
  Result<uint64_t> Read(std::string_view uri, const pagestore::FileId& file, uint64_t offset,
                        uint64_t end, const Sink& sink, std::byte* in_place = nullptr);
  // The connection to the worker broke during a read that still passed some bytes: drop the
  // channel.
  bool broken() const { return broken_.load(std::memory_order_relaxed); }

  // Learns where the first page of each file is, in as few requests as their URIs allow, so
  // that reading the files after listing them asks the worker nothing (the reads still verify
  // every page), as after listing them. kUnavailable when the connection broke.
  struct FileToLocate {
    std::string_view uri;
    pagestore::FileId file;
  };
  Status LocateFirstPages(const std::vector<FileToLocate>& files);

  uint64_t page_size() const { return page_size_; }

 private:
  // Whether the worker end of the socket has hung up (one poll, no wait).
  bool PeerGone() const;
  // PeerGone, asked at most every 100 ms (else what was last found).
  bool HungUp();
  using Extent = pagestore::PageExtent;
  // Where pages [first, first + count) are; fd -1 for a page that is not cached. Takes mu_.
  Result<std::vector<Extent>> Locate(std::string_view uri, const pagestore::FileId& file,
                                     uint64_t first, uint32_t count);
  // Sends a locate request and turns its reply of `count` locations into extents (fd -1: not
  // cached). Caller holds mu_.
  Result<std::vector<Extent>> ExchangeLocked(std::span<const std::byte> request, uint32_t count)
      REQUIRES(mu_);
  // The descriptor of a region file, asked for once. Caller holds mu_.
  Result<int> RegionFdLocked(uint32_t region) REQUIRES(mu_);
  // Remembered places of pages [first, first + count), or empty unless all are known.
  std::vector<Extent> Cached(const pagestore::FileId& file, uint64_t first, uint32_t count);
  void Remember(const pagestore::FileId& file, uint64_t first, const std::vector<Extent>& extents);
  void Forget(const pagestore::FileId& file, uint64_t page);

  // About 16 MiB of remembered places; past that they are forgotten all at once.
  static constexpr size_t kMaxKnownExtents = 1 << 18;

  Mutex mu_;
  std::atomic<bool> broken_{false};
  std::atomic<int64_t> hangup_checked_ns_{0};  // steady clock; 0: never
  const ScopedFd socket_;
  const uint64_t page_size_;
  // Never erased while the channel lives, so a descriptor handed out stays open.
  std::unordered_map<uint32_t, ScopedFd> regions_ GUARDED_BY(mu_);
  std::unordered_map<pagestore::PageKey, Extent, pagestore::PageKeyHash> known_ GUARDED_BY(mu_);
};

}  // namespace alluvium::client
