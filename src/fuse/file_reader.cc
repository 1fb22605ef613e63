#include "fuse/file_reader.h"

#include <algorithm>
#include <cstring>

namespace alluvium::fuse {

std::optional<size_t> FileReader::Serves(const Buffer& buffer, uint64_t offset, uint64_t size) {
  if (offset < buffer.begin || offset > buffer.end()) return std::nullopt;
  const uint64_t available = buffer.end() - offset;
  if (available >= size) return size;
  if (buffer.ends_file) return available;
  return std::nullopt;
}

Result<size_t> FileReader::Read(uint64_t offset, std::span<std::byte> out) {
  if (out.empty()) return 0;
  std::unique_lock lock(mu_);
  while (true) {
    if (buffer_) {
      if (std::optional<size_t> n = Serves(*buffer_, offset, out.size())) {
        window_.OnHit(offset, *n);
        std::shared_ptr<const Buffer> buffer = buffer_;
        lock.unlock();
        std::memcpy(out.data(), buffer->bytes.data() + (offset - buffer->begin), *n);
        return *n;
      }
    }
    // The window being fetched will hold it: wait rather than fetch the same bytes twice. A
    // failed fetch leaves no buffer, and the waiter fetches for itself.
    if (!fetching_ || offset < fetching_->begin || offset >= fetching_->end) break;
    fetched_.wait(lock);
  }
  const uint64_t want = window_.OnMiss(offset, out.size());
  const uint64_t until_end = offset < length_ ? length_ - offset : 0;
  // One window in flight at a time bounds the memory; a second miss meanwhile reads directly.
  if (want > out.size() && until_end > out.size() && !fetching_) {
    return FetchWindow(lock, offset, std::min(want, until_end), out);
  }
  lock.unlock();
  return fetch_(offset, out);
}

Result<size_t> FileReader::FetchWindow(std::unique_lock<std::mutex>& lock, uint64_t offset,
                                       uint64_t size, std::span<std::byte> out) {
  fetching_ = Range{offset, offset + size};
  fetching_bytes_ = size;
  lock.unlock();
  auto fresh = std::make_shared<Buffer>();
  fresh->begin = offset;
  fresh->bytes.resize(size);
  Result<size_t> n = fetch_(offset, fresh->bytes);
  if (n.ok()) {
    fresh->ends_file = *n < size || offset + *n >= length_;
    fresh->bytes.resize(*n);
  }
  lock.lock();
  fetching_.reset();
  fetching_bytes_ = 0;
  if (n.ok()) buffer_ = fresh;
  fetched_.notify_all();
  lock.unlock();
  if (!n.ok()) return n.status();
  const size_t copied = std::min<uint64_t>(out.size(), *n);
  std::memcpy(out.data(), fresh->bytes.data(), copied);
  return copied;
}

uint64_t FileReader::buffered_bytes() const {
  std::lock_guard lock(mu_);
  return (buffer_ ? buffer_->bytes.size() : 0) + fetching_bytes_;
}

}  // namespace alluvium::fuse
