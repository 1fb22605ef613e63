// Ranged reads of one S3 object version. Random reads fetch exactly what is asked; reads inside
// the caller's sequential range fetch a whole block ahead, so loading a 64 MiB segment page by
// page costs a few large GETs instead of 64 small ones. Used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ufs/s3/s3_client.h"
#include "ufs/ufs.h"

namespace alluvium::ufs::s3 {

class S3FileReader final : public FileReader {
 public:
  S3FileReader(std::shared_ptr<S3Client> client, std::string bucket, std::string key,
               OpenOptions options);

  Result<size_t> ReadAt(uint64_t offset, std::span<std::byte> out) override;
  // A view into the read-ahead block when the read falls inside the sequential range.
  Result<std::span<const std::byte>> ReadView(uint64_t offset, size_t length,
                                              std::vector<std::byte>& scratch) override;

 private:
  // The block's bytes [offset, offset + length) if it holds them (or holds the object's end:
  // then fewer); std::nullopt when a fetch is needed.
  std::optional<std::span<const std::byte>> FromBlock(uint64_t offset, size_t length) const;
  // How far to read ahead from `offset`: 0 outside the sequential range.
  uint64_t AheadFrom(uint64_t offset) const;
  // Fetches the block at `offset`, `ahead` bytes (plus one, to see the object's end).
  Status FetchBlock(uint64_t offset, uint64_t ahead);

  const std::shared_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string key_;
  const OpenOptions options_;
  std::vector<std::byte> block_;  // object bytes [block_offset_, block_offset_ + block_.size())
  uint64_t block_offset_ = 0;
  bool block_reaches_end_ = false;  // the object ends where block_ does
};

}  // namespace alluvium::ufs::s3
