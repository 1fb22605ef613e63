// Ranged reads of one S3 object version. Random reads fetch exactly what is asked. Reads inside
// the caller's sequential range are served from a block: by default from one GET streaming the
// whole rest of the range (S3ObjectStream), so loading a 64 MiB segment page by page is one
// request whose next bytes arrive while the caller stores the current ones; with streaming off
// (alluvium.underfs.s3.read.ahead=false), one ranged GET per block. Used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ufs/s3/s3_client.h"
#include "ufs/s3/s3_object_stream.h"
#include "ufs/ufs.h"

namespace alluvium::ufs::s3 {

class S3FileReader final : public FileReader {
 public:
  S3FileReader(std::shared_ptr<S3Client> client, std::string bucket, std::string key,
               OpenOptions options);

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override;
  // A view into the block when the read falls inside the sequential range.
  Result<std::span<const std::byte>> ReadView(uint64_t offset, size_t length,
                                              std::vector<std::byte>& scratch) override;

 private:
  // The block's bytes [offset, offset + length) if it holds them (or holds the object's end:
  // then fewer); std::nullopt when a fetch is needed.
  std::optional<std::span<const std::byte>> FromBlock(uint64_t offset, size_t length) const;
  // How far to read ahead from `offset`: 0 outside the sequential range.
  uint64_t AheadFrom(uint64_t offset) const;
  // Makes the block hold [offset, offset + length) (or up to the object's end).
  Status FetchBlock(uint64_t offset, uint64_t ahead, size_t length);
  // FetchBlock with one ranged GET of `ahead` bytes (plus one, to see the object's end).
  Status FetchRange(uint64_t offset, uint64_t ahead);
  // FetchBlock from the stream, opened at `offset` unless the read continues it.
  Status FetchStreamed(uint64_t offset, size_t length);

  const std::shared_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string key_;
  const OpenOptions options_;
  std::vector<std::byte> block_;  // object bytes [block_offset_, block_offset_ + block_.size())
  uint64_t block_offset_ = 0;
  bool block_reaches_end_ = false;  // the object ends where block_ does
  // The GET of the sequential range; its next block starts where block_ ends.
  std::unique_ptr<S3ObjectStream> stream_;
};

}  // namespace alluvium::ufs::s3
