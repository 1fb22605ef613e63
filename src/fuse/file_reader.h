// The reads of one open file, with sequential read-ahead (read_ahead_window.h): a sequential
// miss fetches a window into a buffer that serves the reads after it, and once a sequential
// reader is served from that buffer the next window is fetched ahead of it (ReadAhead, run by the
// caller after it has answered the read), so that the reader finds its next bytes ready instead
// of waiting for their fetch. A random read is fetched as asked, straight into the caller's
// memory. Reads the kernel sends side by side that fall in a window being fetched wait for it
// instead of fetching again.
//
// Memory: the window being read and the one ahead of it (being fetched, or fetched and not yet
// reached), with a past window's buffer kept for the next fetch to reuse in its place (a fresh
// 32 MiB allocation costs page faults and zeroing on every window): at most twice ReadAheadOptions'
// part_size * max_parts, capped by the file's length, besides buffers views still use; freed with
// the reader (at release). Safe for concurrent use; fetches run without the lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "common/status.h"
#include "fuse/read_ahead_window.h"

namespace alluvium::fuse {

class FileReader {
 public:
  // Fills `out` with the file's bytes at `offset`; fewer only at end of file.
  using Fetch = std::function<Result<size_t>(uint64_t offset, std::span<std::byte> out)>;

  // `length`: the file's length when opened; windows stop there. `read_here`, when given, reads
  // what can be read without asking a worker (short-circuit), fewer bytes where it cannot: a
  // read it serves wholly goes straight into the caller's scratch, windowless. Read-ahead pays
  // only where a fetch waits on the network: for local pages a window made each read copy twice
  // and kept more memory than the CPU caches hold (docs/fuse.md).
  FileReader(uint64_t length, ReadAheadOptions options, Fetch fetch, Fetch read_here = nullptr)
      : length_(length),
        fetch_(std::move(fetch)),
        read_here_(std::move(read_here)),
        window_(options) {}

  // Bytes of the file, in a read-ahead buffer or in the caller's scratch; `owner` keeps the
  // buffer alive (and unchanged) while the bytes are used.
  struct View {
    std::span<const std::byte> bytes;
    std::shared_ptr<const void> owner;
    // A sequential reader reached the last fetched window: call ReadAhead once done with the
    // read (after replying to it, so the reply does not wait for the fetch).
    bool read_ahead_due = false;
  };

  // Up to scratch.size() bytes at `offset`; fewer only at end of file. Bytes a read-ahead buffer
  // holds are not copied (a FUSE reply is written from them straight to the kernel); others are
  // fetched into `scratch`. A failed fetch's error, after which the next read fetches again.
  Result<View> ReadView(uint64_t offset, std::span<std::byte> scratch);
  // The same, always copied into `out`, and reading ahead when due.
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out);
  // Fetches the window after the last fetched one, on the caller's thread, unless a window is
  // already ahead of the reader or being fetched, the reader is no longer sequential, or the file
  // ends first. A failed fetch is dropped: the read that reaches those bytes fetches them again.
  void ReadAhead();

  // Bytes held in buffers now (for tests of the bound).
  uint64_t buffered_bytes() const;

 private:
  struct Buffer {
    uint64_t begin = 0;
    std::unique_ptr<std::byte[]> data;  // uninitialised: the fetch writes what is read
    uint64_t capacity = 0;
    uint64_t size = 0;       // bytes fetched
    bool ends_file = false;  // no byte lies past it: a read beyond its end is at end of file
    // Views of it not yet done with (Lease): taken under the reader's lock while the buffer is
    // published, given back (release) when a view ends; 0 (acquire) once unpublished means
    // every reader has finished with its bytes, so a fetch may write into it again.
    std::atomic<uint32_t> leases{0};
    uint64_t end() const { return begin + size; }
  };
  // Keeps a buffer alive for a view and counts it as in use.
  struct Lease {
    explicit Lease(std::shared_ptr<Buffer> b) : buffer(std::move(b)) {
      buffer->leases.fetch_add(1, std::memory_order_relaxed);
    }
    ~Lease() { buffer->leases.fetch_sub(1, std::memory_order_release); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    std::shared_ptr<Buffer> buffer;
  };
  struct Range {
    uint64_t begin = 0;
    uint64_t end = 0;
  };

  // A view of the buffered bytes at `offset`, making the window fetched ahead the one being
  // read once the reader reaches it; nullopt when no buffer holds them.
  std::optional<View> ServeBuffered(uint64_t offset, uint64_t size);
  // The bytes of [offset, offset + size) `buffer` holds, or nullopt if it cannot serve the read.
  static std::optional<size_t> Serves(const Buffer& buffer, uint64_t offset, uint64_t size);
  // A view of `buffer`'s bytes from `offset`, holding a lease on it.
  static View ViewOf(const std::shared_ptr<Buffer>& buffer, uint64_t offset, size_t size);
  // Fetches [offset, offset + size) into a buffer (the spare one if it is big enough), with the
  // lock released meanwhile and the range marked as being fetched; waiters are woken after.
  Result<std::shared_ptr<Buffer>> FetchRange(std::unique_lock<std::mutex>& lock, uint64_t offset,
                                             uint64_t size);
  // Fetches [offset, offset + size) and makes it the window being read (dropping the one ahead);
  // the view is its first `asked` bytes.
  Result<View> FetchWindow(std::unique_lock<std::mutex>& lock, uint64_t offset, uint64_t size,
                           uint64_t asked);
  // A buffer no longer published: kept as the spare if no view uses it and more fetches may come.
  void Retire(std::shared_ptr<Buffer> buffer);

  const uint64_t length_;
  const Fetch fetch_;
  const Fetch read_here_;
  mutable std::mutex mu_;
  std::condition_variable fetched_;
  ReadAheadWindow window_;  // guarded by mu_
  // Buffers published here are never written, so read without the lock by whoever holds a copy.
  std::shared_ptr<Buffer> buffer_;  // guarded by mu_: the window being read
  std::shared_ptr<Buffer> ahead_;   // guarded by mu_: fetched ahead, starting at buffer_'s end
  std::optional<Range> fetching_;   // guarded by mu_: the window being fetched
  uint64_t fetching_bytes_ = 0;     // guarded by mu_
  std::shared_ptr<Buffer> spare_;   // guarded by mu_: a past window's, for the next fetch
};

}  // namespace alluvium::fuse
