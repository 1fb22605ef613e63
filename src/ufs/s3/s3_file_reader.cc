#include "ufs/s3/s3_file_reader.h"

#include <algorithm>
#include <cstring>

namespace alluvium::ufs::s3 {

S3FileReader::S3FileReader(std::shared_ptr<S3Client> client, std::string bucket, std::string key,
                           OpenOptions options)
    : client_(std::move(client)),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      options_(std::move(options)) {}

std::optional<size_t> S3FileReader::FromBlock(uint64_t offset, std::span<std::byte> out) const {
  const uint64_t block_end = block_offset_ + block_.size();
  if (block_.empty() || offset < block_offset_ || offset > block_end) return std::nullopt;
  const uint64_t available = block_end - offset;
  if (available < out.size() && !block_reaches_end_) return std::nullopt;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(available, out.size()));
  std::memcpy(out.data(), block_.data() + (offset - block_offset_), n);
  return n;
}

Result<size_t> S3FileReader::ReadAt(uint64_t offset, std::span<std::byte> out) {
  if (out.empty()) return size_t{0};
  if (auto served = FromBlock(offset, out)) return *served;

  const uint64_t ahead = offset < options_.sequential_until
                             ? std::min<uint64_t>(client_->options().read_block_size,
                                                  options_.sequential_until - offset)
                             : 0;
  if (ahead <=
      out.size()) {  // nothing to gain from a block: read straight into the caller's buffer
    return client_->GetRange(bucket_, key_, offset, out, options_.expected_version);
  }
  // The sequential range may end exactly at the object's end, and the caller may ask for a byte
  // more to see whether the object grew: fetch that byte too.
  block_.resize(ahead + 1);
  Result<size_t> got = client_->GetRange(bucket_, key_, offset, block_, options_.expected_version);
  if (!got.ok()) {
    block_.clear();
    return got.status();
  }
  block_reaches_end_ = *got < block_.size();
  block_.resize(*got);
  block_offset_ = offset;
  return FromBlock(offset, out).value_or(0);
}

}  // namespace alluvium::ufs::s3
