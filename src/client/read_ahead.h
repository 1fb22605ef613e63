// Reads a byte range as consecutive parts, each fetched by one stream, with the streams of the
// next parts opened before the current one is read: their requests are on the way and their
// replies arrive into bounded buffers (gRPC's stream window) while the consumer takes the
// current part. Everything runs on the caller's thread: no thread hands bytes to another, and
// the consumer gets every byte strictly in order.
//
// Memory: at most `parts_in_flight` streams are open, each holding what its transport buffers.
// When the consumer fails, a stream fails, or the file ends early, Run closes (cancels) the
// streams it opened ahead and returns. Not thread-safe; one Run per read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"

namespace alluvium::client {

// Received bytes of one part, in pieces, kept alive by `owner` (e.g. the RPC message they lie in).
struct Chunk {
  std::vector<std::span<const std::byte>> data;
  uint64_t size = 0;
  bool from_ufs = false;  // the worker fetched them from the UFS for this read
  std::shared_ptr<const void> owner;
};

struct Part {
  uint64_t begin = 0;
  uint64_t end = 0;
};

class ReadAhead {
 public:
  // Passes one chunk of the part being read; not OK when the consumer failed: return it.
  using Emit = std::function<Status(Chunk chunk)>;

  // A part's fetch, started by Open. Destroying a stream that was not drained cancels it.
  class Stream {
   public:
    virtual ~Stream() = default;
    // Emits the part's bytes in order, moving elsewhere on failure as the fetch sees fit and
    // resuming after the last byte emitted. OK after fewer bytes than the part: the file ended.
    // Returns emit's error as soon as emit fails, without retrying.
    virtual Status Drain(const Emit& emit) = 0;
  };
  // Starts fetching a part; must not wait for its bytes.
  using Open = std::function<std::unique_ptr<Stream>(const Part& part)>;
  // Receives the chunks in file order. Not OK stops the read.
  using Consume = std::function<Status(const Chunk& chunk)>;

  // Reads `parts` (consecutive, in order), with up to parts_in_flight streams open at once (at
  // least one). Returns the bytes consumed, fewer than the parts span if the file ended early,
  // or the first error of a stream or of consume.
  static Result<uint64_t> Run(std::span<const Part> parts, size_t parts_in_flight, const Open& open,
                              const Consume& consume);
};

}  // namespace alluvium::client
