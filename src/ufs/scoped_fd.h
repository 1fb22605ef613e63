// Owns one POSIX file descriptor and closes it on destruction. Move-only; not thread-safe (one
// owner at a time), though the descriptor itself may be used from any thread.
#pragma once

#include <unistd.h>

#include <utility>

namespace alluvium::ufs {

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

  bool valid() const { return fd_ >= 0; }
  int get() const { return fd_; }

  // Gives up ownership (e.g. to fdopendir) without closing.
  int Release() { return std::exchange(fd_, -1); }

  // Closes now. close() errors are ignored: the descriptor is released either way (Linux), and
  // we only read through these, so there is no unflushed data to lose.
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace alluvium::ufs
