#include "pagestore/page_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <xxhash.h>
#if defined(__x86_64__)
// XXH3_64bits becomes libxxhash's runtime dispatch to the widest vector unit the CPU has
// (AVX2, AVX-512): 1.5-2x the SSE2 build's speed here, the same hash values.
#include <xxh_x86dispatch.h>
#endif

#include "common/scoped_fd.h"
#include "common/status_mapping.h"

namespace alluvium::pagestore {
namespace {

// Fields are stored in host order, which we require to be little-endian so that files move
// between machines (all our targets are x86-64 or arm64).
static_assert(std::endian::native == std::endian::little);

constexpr uint32_t kMagic = 0x47504C41;  // "ALPG" read as little-endian bytes
constexpr uint16_t kFormatVersion = 1;

struct Footer {
  uint32_t magic;
  uint16_t version;
  uint16_t reserved;
  uint64_t length;
  uint64_t checksum;  // xxh3-64 of the data
  uint64_t file_hi;   // the key, so a misplaced or misnamed file is never served as another page
  uint64_t file_lo;
  uint64_t index;
};
static_assert(sizeof(Footer) == kPageFooterSize);

uint64_t Checksum(std::span<const std::byte> data) { return XXH3_64bits(data.data(), data.size()); }

// Validates everything but the checksum.
Status CheckFooter(const Footer& f, const PageKey& key, uint64_t file_size, uint64_t max_length,
                   const std::filesystem::path& path) {
  if (f.magic != kMagic) return DataLoss(fmt::format("{}: bad page magic", path.string()));
  if (f.version != kFormatVersion) {
    return DataLoss(fmt::format("{}: unknown page format version {}", path.string(), f.version));
  }
  if (f.length != file_size - kPageFooterSize || f.length > max_length) {
    return DataLoss(fmt::format("{}: footer says {} bytes, file holds {}", path.string(), f.length,
                                file_size - kPageFooterSize));
  }
  if (f.file_hi != key.file.hi || f.file_lo != key.file.lo || f.index != key.index) {
    return DataLoss(fmt::format("{}: footer names another page", path.string()));
  }
  return OkStatus();
}

// Opens and sizes a page file; kDataLoss if it cannot even hold a footer and `max_length` bytes.
Result<ScopedFd> OpenPage(const std::filesystem::path& path, uint64_t max_length, struct stat* st) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return FromErrno(errno, path.string());
  if (::fstat(fd.get(), st) != 0) return FromErrno(errno, path.string());
  const auto size = static_cast<uint64_t>(st->st_size);
  if (size < kPageFooterSize || size - kPageFooterSize > max_length) {
    return DataLoss(fmt::format("{}: page file has invalid size {}", path.string(), size));
  }
  return fd;
}

// Drops the first `n` bytes described by an iovec array, after a partial read or write, and any
// empty entries that follow.
void Advance(struct iovec*& iov, int& count, size_t n) {
  while (count > 0 && (n > 0 || iov->iov_len == 0)) {
    const size_t step = std::min(n, iov->iov_len);
    iov->iov_base = static_cast<char*>(iov->iov_base) + step;
    iov->iov_len -= step;
    n -= step;
    if (iov->iov_len == 0) ++iov, --count;
  }
}

// Reads exactly the bytes the iovecs describe at `offset`; a short file is kDataLoss.
Status PreadFully(int fd, struct iovec* iov, int count, off_t offset,
                  const std::filesystem::path& path) {
  Advance(iov, count, 0);
  while (count > 0) {
    const ssize_t n = ::preadv(fd, iov, count, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, path.string());
    }
    if (n == 0) return DataLoss(fmt::format("{}: page file shrank while read", path.string()));
    offset += n;
    Advance(iov, count, static_cast<size_t>(n));
  }
  return OkStatus();
}

Status WriteFully(int fd, struct iovec* iov, int count, const std::filesystem::path& path) {
  Advance(iov, count, 0);
  while (count > 0) {
    const ssize_t n = ::writev(fd, iov, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, path.string());
    }
    Advance(iov, count, static_cast<size_t>(n));
  }
  return OkStatus();
}

Status WriteTemp(const std::filesystem::path& temp_path, const PageKey& key,
                 std::span<const std::byte> data) {
  ScopedFd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return FromErrno(errno, temp_path.string());
  Footer footer{.magic = kMagic,
                .version = kFormatVersion,
                .reserved = 0,
                .length = data.size(),
                .checksum = Checksum(data),
                .file_hi = key.file.hi,
                .file_lo = key.file.lo,
                .index = key.index};
  struct iovec iov[2] = {
      {.iov_base = const_cast<std::byte*>(data.data()), .iov_len = data.size()},
      {.iov_base = &footer, .iov_len = sizeof(footer)},
  };
  ALLUVIUM_RETURN_IF_ERROR(WriteFully(fd.get(), iov, 2, temp_path));
  if (const int err = fd.Close(); err != 0) return FromErrno(err, temp_path.string());
  return OkStatus();
}

}  // namespace

Status WritePageFile(const std::filesystem::path& temp_path, const std::filesystem::path& path,
                     const PageKey& key, std::span<const std::byte> data) {
  Status status = WriteTemp(temp_path, key, data);
  if (status.ok() && ::rename(temp_path.c_str(), path.c_str()) != 0) {
    status = FromErrno(errno, fmt::format("rename to {}", path.string()));
  }
  if (!status.ok()) ::unlink(temp_path.c_str());  // best effort; Open sweeps tmp/ anyway
  return status;
}

Result<size_t> ReadPageFile(const std::filesystem::path& path, const PageKey& key,
                            uint64_t max_length, uint64_t offset, std::span<std::byte> out) {
  struct stat st;
  ALLUVIUM_ASSIGN_OR_RETURN(ScopedFd fd, OpenPage(path, max_length, &st));
  const uint64_t length = static_cast<uint64_t>(st.st_size) - kPageFooterSize;

  // The whole page is read to verify it. When the caller wants all of it, read straight into
  // their buffer; otherwise into scratch (uninitialised: every byte is overwritten).
  std::unique_ptr<std::byte[]> scratch;
  std::byte* data = out.data();
  if (offset != 0 || out.size() < length) {
    scratch = std::make_unique_for_overwrite<std::byte[]>(length);
    data = scratch.get();
  }
  Footer footer;
  struct iovec iov[2] = {
      {.iov_base = data, .iov_len = length},
      {.iov_base = &footer, .iov_len = sizeof(footer)},
  };
  ALLUVIUM_RETURN_IF_ERROR(PreadFully(fd.get(), iov, 2, 0, path));
  ALLUVIUM_RETURN_IF_ERROR(CheckFooter(footer, key, st.st_size, max_length, path));
  const std::span<const std::byte> bytes(data, length);
  if (Checksum(bytes) != footer.checksum) {
    return DataLoss(fmt::format("{}: page checksum mismatch", path.string()));
  }
  if (offset >= length) return size_t{0};
  const size_t n = std::min<uint64_t>(out.size(), length - offset);
  if (scratch) std::memcpy(out.data(), data + offset, n);
  return n;
}

Result<PageFileInfo> InspectPageFile(const std::filesystem::path& path, const PageKey& key,
                                     uint64_t max_length) {
  struct stat st;
  ALLUVIUM_ASSIGN_OR_RETURN(ScopedFd fd, OpenPage(path, max_length, &st));
  Footer footer;
  struct iovec iov = {.iov_base = &footer, .iov_len = sizeof(footer)};
  ALLUVIUM_RETURN_IF_ERROR(
      PreadFully(fd.get(), &iov, 1, static_cast<off_t>(st.st_size - kPageFooterSize), path));
  ALLUVIUM_RETURN_IF_ERROR(CheckFooter(footer, key, st.st_size, max_length, path));
  return PageFileInfo{
      .length = footer.length,
      .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace alluvium::pagestore
