// Owns one POSIX file descriptor and closes it on destruction. Move-only; one owner at a time,
// though the descriptor itself may be used from any thread.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace alluvium {

class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() { Reset(); }

  ScopedFd(ScopedFd&& other) noexcept : fd_(other.Release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership (e.g. to fdopendir) without closing.
  int Release() { return std::exchange(fd_, -1); }

  // Closes now and returns close()'s errno (0 on success), for writers that must know: on some
  // filesystems (NFS) a failed write is only reported by close.
  int Close() {
    if (fd_ < 0) return 0;
    return ::close(std::exchange(fd_, -1)) == 0 ? 0 : errno;
  }

  // Closes now, ignoring errors: the descriptor is released either way (Linux), and this path is
  // for descriptors only read from, with no unflushed data to lose.
  void Reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_ = -1;
};

}  // namespace alluvium
