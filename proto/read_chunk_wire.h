// ReadChunk (alluvium.proto) on the wire without protobuf's copies. The worker sends a page from
// the buffer it was read into (a slice referenced, not copied, into the message), and the client
// hands the received bytes to its sink where gRPC put them. The encoding is byte for byte what
// ReadChunk::SerializeAsString() produces (fields in number order), and the decoder reads any
// valid ReadChunk, so peers using the generated class interoperate. Functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include "alluvium.pb.h"
#include "common/status.h"

namespace alluvium::rpc {

// A ReadChunk message of `data` at file `offset`, with `status` if not null. The message refers
// to `data` (a reference is taken); nothing is copied but a few bytes of framing.
grpc::ByteBuffer EncodeReadChunk(uint64_t offset, const grpc::Slice& data, PageSource source,
                                 const FileStatus* status);

// A received ReadChunk whose data still lies in the message's slices. Move-only: small slices
// keep their bytes inline, so a copy's spans would point into the original.
struct ReadChunkView {
  ReadChunkView() = default;
  ReadChunkView(ReadChunkView&&) = default;
  ReadChunkView& operator=(ReadChunkView&&) = default;
  ReadChunkView(const ReadChunkView&) = delete;
  ReadChunkView& operator=(const ReadChunkView&) = delete;

  uint64_t offset = 0;
  PageSource source = PAGE_SOURCE_CACHE;
  std::optional<FileStatus> status;
  // The data field in order, pointing into `slices`, valid while this object (or a moved-to one)
  // lives. Empty when the chunk has no data.
  std::vector<std::span<const std::byte>> data;
  uint64_t data_size = 0;
  std::vector<grpc::Slice> slices;  // references to the message's bytes
};

// kDataLoss for bytes that are not a ReadChunk.
Result<ReadChunkView> DecodeReadChunk(const grpc::ByteBuffer& message);

}  // namespace alluvium::rpc
