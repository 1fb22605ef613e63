#include "fuse/read_ahead_window.h"

#include <algorithm>

namespace alluvium::fuse {

uint64_t ReadAheadWindow::OnMiss(uint64_t offset, uint64_t size) {
  const bool sequential = offset == next_;
  next_ = offset + size;
  if (!sequential || options_.max_parts == 0) {
    parts_ = 0;
    return size;
  }
  parts_ = parts_ == 0 ? 1 : std::min(parts_ * 2, options_.max_parts);
  return std::max(size, window_bytes());
}

void ReadAheadWindow::OnHit(uint64_t offset, uint64_t size) {
  // A read the kernel sent out of order (an earlier range served after a later one) does not
  // move the end back.
  next_ = std::max(next_, offset + size);
}

uint64_t ReadAheadWindow::OnReadAhead() {
  if (parts_ == 0) return 0;
  parts_ = std::min(parts_ * 2, options_.max_parts);
  return window_bytes();
}

}  // namespace alluvium::fuse
