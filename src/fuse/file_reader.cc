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
  ALLUVIUM_ASSIGN_OR_RETURN(View view, ReadView(offset, out));
  if (!view.bytes.empty() && view.bytes.data() != out.data()) {
    std::memcpy(out.data(), view.bytes.data(), view.bytes.size());
  }
  return view.bytes.size();
}

Result<FileReader::View> FileReader::ReadView(uint64_t offset, std::span<std::byte> scratch) {
  if (scratch.empty()) return View{};
  std::unique_lock lock(mu_);
  while (true) {
    if (buffer_) {
      if (std::optional<size_t> n = Serves(*buffer_, offset, scratch.size())) {
        window_.OnHit(offset, *n);
        const std::byte* at = buffer_->data.get() + (offset - buffer_->begin);
        return View{.bytes = std::span(at, *n), .owner = std::make_shared<const Lease>(buffer_)};
      }
    }
    // The window being fetched will hold it: wait rather than fetch the same bytes twice. A
    // failed fetch leaves no buffer, and the waiter fetches for itself.
    if (!fetching_ || offset < fetching_->begin || offset >= fetching_->end) break;
    fetched_.wait(lock);
  }
  const uint64_t want = window_.OnMiss(offset, scratch.size());
  const uint64_t until_end = offset < length_ ? length_ - offset : 0;
  // One window in flight at a time bounds the memory; a second miss meanwhile reads directly.
  if (want > scratch.size() && until_end > scratch.size() && !fetching_) {
    return FetchWindow(lock, offset, std::min(want, until_end), scratch.size());
  }
  lock.unlock();
  ALLUVIUM_ASSIGN_OR_RETURN(size_t n, fetch_(offset, scratch));
  return View{.bytes = scratch.first(n), .owner = nullptr};
}

Result<FileReader::View> FileReader::FetchWindow(std::unique_lock<std::mutex>& lock,
                                                 uint64_t offset, uint64_t size, uint64_t asked) {
  std::shared_ptr<Buffer> fresh = std::move(spare_);
  if (fresh && fresh->capacity < size) fresh.reset();
  fetching_ = Range{offset, offset + size};
  fetching_bytes_ = fresh ? fresh->capacity : size;
  lock.unlock();
  if (!fresh) {
    fresh = std::make_shared<Buffer>();
    fresh->data = std::make_unique_for_overwrite<std::byte[]>(size);
    fresh->capacity = size;
  }
  fresh->begin = offset;
  Result<size_t> n = fetch_(offset, std::span(fresh->data.get(), size));
  if (n.ok()) {
    fresh->size = *n;
    fresh->ends_file = *n < size || offset + *n >= length_;
  }
  lock.lock();
  fetching_.reset();
  fetching_bytes_ = 0;
  View view;
  if (n.ok()) {
    view =
        View{.bytes = std::span<const std::byte>(fresh->data.get(), std::min<uint64_t>(asked, *n)),
             .owner = std::make_shared<const Lease>(fresh)};
    std::shared_ptr<Buffer> previous = std::exchange(buffer_, std::move(fresh));
    // Reused by the next fetch unless a view of it is still in use (the last one frees it) or
    // there is no next fetch (this window reaches the end of the file). Unpublished under the
    // lock, it gets no new views.
    if (previous && previous->leases.load(std::memory_order_acquire) == 0 && !buffer_->ends_file) {
      spare_ = std::move(previous);
    }
  } else {
    spare_ = std::move(fresh);
  }
  fetched_.notify_all();
  lock.unlock();
  if (!n.ok()) return n.status();
  return view;
}

uint64_t FileReader::buffered_bytes() const {
  std::lock_guard lock(mu_);
  return (buffer_ ? buffer_->capacity : 0) + (spare_ ? spare_->capacity : 0) + fetching_bytes_;
}

}  // namespace alluvium::fuse
