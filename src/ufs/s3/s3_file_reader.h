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

 private:
  // Serves [offset, offset + out.size()) from the block buffer if it holds it (or holds the
  // object's end); std::nullopt when a fetch is needed.
  std::optional<size_t> FromBlock(uint64_t offset, std::span<std::byte> out) const;

  const std::shared_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string key_;
  const OpenOptions options_;
  std::vector<std::byte> block_;  // object bytes [block_offset_, block_offset_ + block_.size())
  uint64_t block_offset_ = 0;
  bool block_reaches_end_ = false;  // the object ends where block_ does
};

}  // namespace alluvium::ufs::s3
