// How much one read of an open file fetches: a read that starts where the last one ended is
// sequential and fetches a window of parts that doubles with each sequential fetch, from one part
// up to max_parts (Alluxio's FUSE: 4 MiB parts, 8 of them); any other read is random and fetches
// only what it asks for, and sequential growth starts over. Pure (no I/O); not thread-safe (its
// FileReader locks it).
#pragma once

#include <cstdint>

namespace alluvium::fuse {

struct ReadAheadOptions {
  // A part is what the first sequential fetch reads; big enough to cost a handful of client
  // calls per second at disk speed, small enough that a reader that stops wastes little.
  uint64_t part_size = 4 << 20;
  // The window's cap in parts: with part_size, the most one open file buffers (32 MiB).
  uint32_t max_parts = 8;  // 0: no read-ahead, every read fetches what it asks for
};

class ReadAheadWindow {
 public:
  explicit ReadAheadWindow(ReadAheadOptions options) : options_(options) {}

  // A read of `size` bytes at `offset` the buffered bytes could not serve: returns how many bytes
  // from `offset` to fetch, `size` for a random read, at least `size` for a sequential one.
  uint64_t OnMiss(uint64_t offset, uint64_t size);
  // A read the buffered bytes served; keeps the reader sequential.
  void OnHit(uint64_t offset, uint64_t size);
  // A fetch of the next window ahead of a sequential reader: how many bytes, grown as a
  // sequential miss's window would be; 0 once the reader is not sequential.
  uint64_t OnReadAhead();
  bool sequential() const { return parts_ > 0; }

  uint64_t window_bytes() const { return parts_ * options_.part_size; }
  uint64_t max_bytes() const { return options_.max_parts * options_.part_size; }

 private:
  const ReadAheadOptions options_;
  uint64_t next_ = 0;   // where the last read ended: a read starting here is sequential
  uint32_t parts_ = 0;  // the last sequential fetch's window, in parts; 0 after a random read
};

}  // namespace alluvium::fuse
