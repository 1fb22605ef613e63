// The reads of one open file, with sequential read-ahead (read_ahead_window.h): a sequential
// miss fetches a whole window into a buffer that serves the reads after it; a random read is
// fetched as asked, straight into the caller's memory. Reads the kernel sends side by side that
// fall in a window being fetched wait for it instead of fetching again.
//
// Memory: the buffer of the last window and one more, either being fetched or kept for the next
// fetch to reuse (a fresh 32 MiB allocation costs page faults and zeroing on every window), so at
// most twice ReadAheadOptions' part_size * max_parts, capped by the file's length; freed with
// the reader (at release). Safe for concurrent use; the fetch runs without the lock.
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

  // `length`: the file's length when opened; windows stop there.
  FileReader(uint64_t length, ReadAheadOptions options, Fetch fetch)
      : length_(length), fetch_(std::move(fetch)), window_(options) {}

  // Bytes of the file, in a read-ahead buffer or in the caller's scratch; `owner` keeps the
  // buffer alive (and unchanged) while the bytes are used.
  struct View {
    std::span<const std::byte> bytes;
    std::shared_ptr<const void> owner;
  };

  // Up to scratch.size() bytes at `offset`; fewer only at end of file. Bytes a read-ahead buffer
  // holds are not copied (a FUSE reply is written from them straight to the kernel); others are
  // fetched into `scratch`. A failed fetch's error, after which the next read fetches again.
  Result<View> ReadView(uint64_t offset, std::span<std::byte> scratch);
  // The same, always copied into `out`.
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out);

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

  // The bytes of [offset, offset + size) `buffer` holds, or nullopt if it cannot serve the read.
  static std::optional<size_t> Serves(const Buffer& buffer, uint64_t offset, uint64_t size);
  // Fetches [offset, offset + size) into a new buffer and publishes it; the view is its first
  // `asked` bytes.
  Result<View> FetchWindow(std::unique_lock<std::mutex>& lock, uint64_t offset, uint64_t size,
                           uint64_t asked);

  const uint64_t length_;
  const Fetch fetch_;
  mutable std::mutex mu_;
  std::condition_variable fetched_;
  ReadAheadWindow window_;  // guarded by mu_
  // Never written once published here, so read without the lock by whoever holds a copy.
  std::shared_ptr<Buffer> buffer_;  // guarded by mu_
  std::optional<Range> fetching_;   // guarded by mu_: the window being fetched
  uint64_t fetching_bytes_ = 0;     // guarded by mu_
  std::shared_ptr<Buffer> spare_;   // guarded by mu_: a past window's, for the next fetch
};

}  // namespace alluvium::fuse
