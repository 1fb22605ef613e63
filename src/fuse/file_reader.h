// The reads of one open file, with sequential read-ahead (read_ahead_window.h): a sequential
// miss fetches a whole window into a buffer that serves the reads after it; a random read is
// fetched as asked, straight into the caller's memory. Reads the kernel sends side by side that
// fall in a window being fetched wait for it instead of fetching again.
//
// Memory: the buffer of the last window and at most one window being fetched, so at most twice
// ReadAheadOptions' part_size * max_parts, capped by the file's length; freed with the reader
// (at release). Safe for concurrent use; the fetch runs without the lock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

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

  // Reads up to out.size() bytes at `offset`; fewer only at end of file. A failed fetch's error,
  // after which the next read fetches again.
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out);

  // Bytes held in buffers now (for tests of the bound).
  uint64_t buffered_bytes() const;

 private:
  struct Buffer {
    uint64_t begin = 0;
    std::vector<std::byte> bytes;
    bool ends_file = false;  // no byte lies past it: a read beyond its end is at end of file
    uint64_t end() const { return begin + bytes.size(); }
  };
  struct Range {
    uint64_t begin = 0;
    uint64_t end = 0;
  };

  // The bytes of [offset, offset + size) `buffer` holds, or nullopt if it cannot serve the read.
  static std::optional<size_t> Serves(const Buffer& buffer, uint64_t offset, uint64_t size);
  Result<size_t> FetchWindow(std::unique_lock<std::mutex>& lock, uint64_t offset, uint64_t size,
                             std::span<std::byte> out);

  const uint64_t length_;
  const Fetch fetch_;
  mutable std::mutex mu_;
  std::condition_variable fetched_;
  ReadAheadWindow window_;                // guarded by mu_
  std::shared_ptr<const Buffer> buffer_;  // guarded by mu_; immutable, so read without it
  std::optional<Range> fetching_;         // guarded by mu_: the window being fetched
  uint64_t fetching_bytes_ = 0;           // guarded by mu_
};

}  // namespace alluvium::fuse
