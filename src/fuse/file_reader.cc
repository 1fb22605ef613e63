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

FileReader::View FileReader::ViewOf(const std::shared_ptr<Buffer>& buffer, uint64_t offset,
                                    size_t size) {
  const std::byte* at = buffer->data.get() + (offset - buffer->begin);
  return View{.bytes = std::span(at, size), .owner = std::make_shared<const Lease>(buffer)};
}

Result<size_t> FileReader::Read(uint64_t offset, std::span<std::byte> out) {
  ALLUVIUM_ASSIGN_OR_RETURN(View view, ReadView(offset, out));
  if (!view.bytes.empty() && view.bytes.data() != out.data()) {
    std::memcpy(out.data(), view.bytes.data(), view.bytes.size());
  }
  const size_t n = view.bytes.size();
  if (view.read_ahead_due) {
    view = View{};
    ReadAhead();
  }
  return n;
}

std::optional<FileReader::View> FileReader::ServeBuffered(uint64_t offset, uint64_t size) {
  if (ahead_ && Serves(*ahead_, offset, size)) {
    Retire(std::exchange(buffer_, std::move(ahead_)));
  }
  if (!buffer_) return std::nullopt;
  std::optional<size_t> n = Serves(*buffer_, offset, size);
  if (!n) return std::nullopt;
  window_.OnHit(offset, *n);
  View view = ViewOf(buffer_, offset, *n);
  view.read_ahead_due = !ahead_ && !fetching_ && !buffer_->ends_file && window_.sequential();
  return view;
}

Result<FileReader::View> FileReader::ReadView(uint64_t offset, std::span<std::byte> scratch) {
  if (scratch.empty()) return View{};
  std::unique_lock lock(mu_);
  if (read_here_) {
    if (std::optional<View> view = ServeBuffered(offset, scratch.size())) return std::move(*view);
    lock.unlock();
    // Where it falls short (a page not cached here, or an error), the fetch below asks a worker.
    Result<size_t> here = read_here_(offset, scratch);
    if (here.ok() && (*here == scratch.size() || offset + *here >= length_)) {
      return View{.bytes = scratch.first(*here), .owner = nullptr};
    }
    lock.lock();
  }
  while (true) {
    if (std::optional<View> view = ServeBuffered(offset, scratch.size())) return std::move(*view);
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

void FileReader::ReadAhead() {
  std::unique_lock lock(mu_);
  // A window that does not end the file ends before it (FetchRange's ends_file).
  if (ahead_ || fetching_ || !buffer_ || buffer_->ends_file) return;
  const uint64_t begin = buffer_->end();
  const uint64_t size = std::min(window_.OnReadAhead(), length_ - begin);
  if (size == 0) return;
  Result<std::shared_ptr<Buffer>> fetched = FetchRange(lock, begin, size);
  // The window being read changes only by a fetch or by reaching ahead_: neither can happen
  // while this fetch runs (one fetch at a time, ahead_ empty), so these bytes still follow it.
  if (fetched.ok()) ahead_ = std::move(*fetched);
}

Result<std::shared_ptr<FileReader::Buffer>> FileReader::FetchRange(
    std::unique_lock<std::mutex>& lock, uint64_t offset, uint64_t size) {
  std::shared_ptr<Buffer> fresh = std::move(spare_);
  // A view may still be answering from the spare (its reply under way): then not that one.
  if (fresh && (fresh->capacity < size || fresh->leases.load(std::memory_order_acquire) != 0)) {
    fresh.reset();
  }
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
  fetched_.notify_all();
  if (!n.ok()) {
    spare_ = std::move(fresh);
    return n.status();
  }
  return fresh;
}

Result<FileReader::View> FileReader::FetchWindow(std::unique_lock<std::mutex>& lock,
                                                 uint64_t offset, uint64_t size, uint64_t asked) {
  // The reader left the window fetched ahead: its buffer may hold this fetch instead.
  Retire(std::exchange(ahead_, nullptr));
  ALLUVIUM_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> fresh, FetchRange(lock, offset, size));
  View view = ViewOf(fresh, offset, std::min<uint64_t>(asked, fresh->size));
  Retire(std::exchange(buffer_, std::move(fresh)));
  return view;
}

void FileReader::Retire(std::shared_ptr<Buffer> buffer) {
  // Unpublished under the lock, it gets no new views; once its leases are back to 0 no view
  // reads it, and a fetch may write into it (FetchRange checks). Kept even while a view still
  // uses it, as the reply that retires it usually is: freed, the next fetch would pay page
  // faults and zeroing for a fresh buffer. Not kept when no fetch will come (the window being
  // read reaches the end of the file) or a bigger spare is kept already.
  if (!buffer) return;
  if (buffer_ && buffer_->ends_file) return;
  if (spare_ && spare_->capacity >= buffer->capacity) return;
  spare_ = std::move(buffer);
}

uint64_t FileReader::buffered_bytes() const {
  std::lock_guard lock(mu_);
  return (buffer_ ? buffer_->capacity : 0) + (ahead_ ? ahead_->capacity : 0) +
         (spare_ ? spare_->capacity : 0) + fetching_bytes_;
}

}  // namespace alluvium::fuse
