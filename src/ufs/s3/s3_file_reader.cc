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

std::optional<std::span<const std::byte>> S3FileReader::FromBlock(uint64_t offset,
                                                                  size_t length) const {
  const uint64_t block_end = block_offset_ + block_.size();
  if (block_.empty() || offset < block_offset_ || offset > block_end) return std::nullopt;
  const uint64_t available = block_end - offset;
  if (available < length && !block_reaches_end_) return std::nullopt;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(available, length));
  return std::span(block_.data() + (offset - block_offset_), n);
}

uint64_t S3FileReader::AheadFrom(uint64_t offset) const {
  if (offset >= options_.sequential_until) return 0;
  return std::min<uint64_t>(client_->options().read_block_size, options_.sequential_until - offset);
}

Status S3FileReader::FetchBlock(uint64_t offset, uint64_t ahead, size_t length) {
  return client_->options().read_ahead ? FetchStreamed(offset, length) : FetchRange(offset, ahead);
}

Status S3FileReader::FetchRange(uint64_t offset, uint64_t ahead) {
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
  return OkStatus();
}

Status S3FileReader::FetchStreamed(uint64_t offset, size_t length) {
  const uint64_t block_end = block_offset_ + block_.size();
  if (stream_ == nullptr || offset < block_offset_ || offset > block_end) {
    // Blocks a whole number of reads long, so that page-sized reads never straddle two.
    constexpr uint64_t kStreamBlock = 4 << 20;
    const uint64_t unit = std::min<uint64_t>(client_->options().read_block_size, kStreamBlock);
    const size_t block_size = length * std::max<uint64_t>(1, unit / length);
    stream_.reset();  // stops a stream left behind by a jump
    stream_ =
        std::make_unique<S3ObjectStream>(client_, bucket_, key_, options_.expected_version, offset,
                                         options_.sequential_until - offset, block_size);
    block_.clear();
    block_offset_ = offset;
    block_reaches_end_ = false;
  }
  // Keep only the unread tail, to which the next blocks are added: a read that straddles two
  // blocks is one span.
  block_.erase(block_.begin(), block_.begin() + static_cast<ptrdiff_t>(offset - block_offset_));
  block_offset_ = offset;
  while (block_.size() < length) {
    Result<std::optional<S3ObjectStream::Block>> next = stream_->Next();
    if (!next.ok()) {
      stream_.reset();
      block_.clear();
      return next.status();
    }
    if (!*next) {
      block_reaches_end_ = stream_->object_ended();
      break;
    }
    if (block_.empty()) {
      // The common case, reads dividing blocks: no copy, and the spent block's memory is
      // received into again.
      stream_->Recycle(std::exchange(block_, std::move((*next)->bytes)));
    } else {
      block_.insert(block_.end(), (*next)->bytes.begin(), (*next)->bytes.end());
    }
  }
  return OkStatus();
}

Result<size_t> S3FileReader::ReadAt(uint64_t offset, std::span<std::byte> out) {
  if (out.empty()) return size_t{0};
  auto view = FromBlock(offset, out.size());
  if (!view) {
    const uint64_t ahead = AheadFrom(offset);
    if (ahead <= out.size()) {  // nothing to gain from a block: straight into the caller's buffer
      return client_->GetRange(bucket_, key_, offset, out, options_.expected_version);
    }
    ALLUVIUM_RETURN_IF_ERROR(FetchBlock(offset, ahead, out.size()));
    view = FromBlock(offset, out.size());
    if (!view) return size_t{0};
  }
  std::memcpy(out.data(), view->data(), view->size());
  return view->size();
}

Result<std::span<const std::byte>> S3FileReader::ReadView(uint64_t offset, size_t length,
                                                          std::vector<std::byte>& scratch) {
  if (length == 0) return std::span<const std::byte>();
  if (auto view = FromBlock(offset, length)) return *view;
  const uint64_t ahead = AheadFrom(offset);
  if (ahead <= length) {  // nothing to gain from a block: one exact GET
    if (scratch.size() < length) scratch.resize(length);
    ALLUVIUM_ASSIGN_OR_RETURN(
        size_t got, client_->GetRange(bucket_, key_, offset, std::span(scratch.data(), length),
                                      options_.expected_version));
    return std::span<const std::byte>(scratch.data(), got);
  }
  ALLUVIUM_RETURN_IF_ERROR(FetchBlock(offset, ahead, length));
  return FromBlock(offset, length).value_or(std::span<const std::byte>());
}

}  // namespace alluvium::ufs::s3
