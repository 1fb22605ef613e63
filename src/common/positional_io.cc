#include "common/positional_io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "common/status_mapping.h"

namespace alluvium {
namespace {

// Drops the first `n` transferred bytes from `parts`: whole parts, then the front of the next.
std::span<iovec> Advance(std::span<iovec> parts, uint64_t n) {
  while (!parts.empty() && n >= parts.front().iov_len) {
    n -= parts.front().iov_len;
    parts = parts.subspan(1);
  }
  if (!parts.empty() && n > 0) {
    parts.front().iov_base = static_cast<char*>(parts.front().iov_base) + n;
    parts.front().iov_len -= n;
  }
  return parts;
}

// Parts with nothing to transfer would make a loop that waits for progress stop early.
std::span<iovec> SkipEmpty(std::span<iovec> parts) {
  while (!parts.empty() && parts.front().iov_len == 0) parts = parts.subspan(1);
  return parts;
}

int PartCount(std::span<iovec> parts) {
  return static_cast<int>(std::min<size_t>(parts.size(), IOV_MAX));
}

}  // namespace

Result<uint64_t> PreadFully(int fd, uint64_t offset, std::span<iovec> parts) {
  uint64_t total = 0;
  for (parts = SkipEmpty(parts); !parts.empty(); parts = SkipEmpty(parts)) {
    const ssize_t n = ::preadv(fd, parts.data(), PartCount(parts), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "preadv");
    }
    if (n == 0) break;  // end of file
    total += static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
    parts = Advance(parts, static_cast<uint64_t>(n));
  }
  return total;
}

Status PwriteFully(int fd, uint64_t offset, std::span<iovec> parts) {
  for (parts = SkipEmpty(parts); !parts.empty(); parts = SkipEmpty(parts)) {
    const ssize_t n = ::pwritev(fd, parts.data(), PartCount(parts), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "pwritev");
    }
    if (n == 0) return FromErrno(EIO, "pwritev wrote nothing");
    offset += static_cast<uint64_t>(n);
    parts = Advance(parts, static_cast<uint64_t>(n));
  }
  return OkStatus();
}

}  // namespace alluvium
