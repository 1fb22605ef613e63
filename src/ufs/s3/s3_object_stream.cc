#include "ufs/s3/s3_object_stream.h"

#include <algorithm>
#include <utility>

namespace alluvium::ufs::s3 {

S3ObjectStream::S3ObjectStream(std::shared_ptr<S3Client> client, std::string bucket,
                               std::string key, std::string if_match, uint64_t offset,
                               uint64_t length, size_t block_size, size_t max_ready)
    : client_(std::move(client)),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      block_size_(std::max<size_t>(block_size, 1)),
      max_ready_(std::max<size_t>(max_ready, 1)),
      thread_([this, if_match = std::move(if_match), offset, length] {
        Run(if_match, offset, length);
      }) {}

S3ObjectStream::~S3ObjectStream() {
  {
    MutexLock lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  thread_.join();  // the sink sees closing_ at its next piece and stops the transfer
}

bool S3ObjectStream::Push(Block block) {
  UniqueMutexLock lock(mu_);
  cv_.wait(lock, [&] {
    mu_.AssertHeld();  // the wait holds it around its predicate
    return closing_ || ready_.size() < max_ready_;
  });
  if (closing_) return false;
  ready_.push_back(std::move(block));
  cv_.notify_all();
  return true;
}

void S3ObjectStream::Recycle(std::vector<std::byte> bytes) {
  if (bytes.capacity() < block_size_) return;
  bytes.clear();
  MutexLock lock(mu_);
  // The receiving block and max_ready_ waiting ones are all that is ever out at once.
  if (spares_.size() < max_ready_ + 1) spares_.push_back(std::move(bytes));
}

std::vector<std::byte> S3ObjectStream::SpareBuffer() {
  {
    MutexLock lock(mu_);
    if (!spares_.empty()) {
      std::vector<std::byte> bytes = std::move(spares_.back());
      spares_.pop_back();
      return bytes;
    }
  }
  std::vector<std::byte> bytes;
  bytes.reserve(block_size_);
  return bytes;
}

void S3ObjectStream::Run(const std::string& if_match, uint64_t offset, uint64_t length) {
  Block current{.offset = offset, .bytes = SpareBuffer()};
  auto consume = [&](std::span<const std::byte> piece) {
    while (!piece.empty()) {
      const size_t n = std::min(piece.size(), block_size_ - current.bytes.size());
      current.bytes.insert(current.bytes.end(), piece.begin(), piece.begin() + n);
      piece = piece.subspan(n);
      if (current.bytes.size() == block_size_) {
        const uint64_t next = current.offset + current.bytes.size();
        if (!Push(std::exchange(current, Block{.offset = next, .bytes = SpareBuffer()}))) {
          return false;
        }
      }
    }
    return true;
  };
  Result<uint64_t> got = client_->GetStream(bucket_, key_, offset, length, if_match, consume);
  if (got.ok() && !current.bytes.empty() && !Push(std::move(current))) return;
  MutexLock lock(mu_);
  done_ = true;
  object_ended_ = got.ok() && *got < length;
  error_ = got.ok() ? OkStatus() : got.status();
  cv_.notify_all();
}

Result<std::optional<S3ObjectStream::Block>> S3ObjectStream::Next() {
  UniqueMutexLock lock(mu_);
  cv_.wait(lock, [&] {
    mu_.AssertHeld();
    return !ready_.empty() || done_;
  });
  if (!ready_.empty()) {
    Block block = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return std::optional<Block>(std::move(block));
  }
  if (!error_.ok()) return error_;
  return std::optional<Block>();
}

}  // namespace alluvium::ufs::s3
