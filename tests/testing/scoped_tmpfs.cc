#include "testing/scoped_tmpfs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace alluvium::testing {
namespace {

namespace fs = std::filesystem;

// Mounts still up, unmounted by a fatal signal too (SIGTERM from a runner, an abort), so that an
// interrupted run leaves no tmpfs behind. Fixed slots: a handler may not allocate.
constexpr int kMountSlots = 8;
char g_mounts[kMountSlots][4096];
std::atomic<bool> g_mount_used[kMountSlots];

void UnmountAllAndDie(int sig) {
  for (int i = 0; i < kMountSlots; ++i) {
    if (g_mount_used[i].load()) ::umount2(g_mounts[i], MNT_DETACH);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

int RegisterMount(const fs::path& path) {
  static const bool installed = [] {
    // Not SIGSEGV: sanitizers report through their own handler for it.
    for (int sig : {SIGTERM, SIGINT, SIGABRT}) ::signal(sig, UnmountAllAndDie);
    return true;
  }();
  (void)installed;
  for (int i = 0; i < kMountSlots; ++i) {
    if (!g_mount_used[i].load() && path.native().size() < sizeof g_mounts[i]) {
      std::strcpy(g_mounts[i], path.c_str());
      g_mount_used[i] = true;
      return i;
    }
  }
  return -1;
}

}  // namespace

ScopedTmpfs::ScopedTmpfs(uint64_t bytes, fs::path at) : at_(std::move(at)) {
  if (::geteuid() != 0) {
    skip_reason_ = "mounting a tmpfs needs root (CI runs as root)";
    return;
  }
  std::error_code ec;
  if (!at_.empty()) fs::create_directories(at_, ec);
  const std::string data = fmt::format("size={},mode=0755", bytes);
  if (::mount("tmpfs", path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
    skip_reason_ =
        fmt::format("cannot mount a tmpfs at {}: {}", path().string(), std::strerror(errno));
    return;
  }
  mounted_ = true;
  slot_ = RegisterMount(path());
}

ScopedTmpfs::~ScopedTmpfs() {
  if (mounted_) ::umount2(path().c_str(), MNT_DETACH);
  if (slot_ >= 0) g_mount_used[slot_] = false;
  if (!at_.empty()) {
    std::error_code ec;
    fs::remove_all(at_, ec);
    fs::remove(at_.parent_path(), ec);  // only if empty
  }
}

uint64_t ScopedTmpfs::FreeBytes() const {
  struct statvfs s;
  if (::statvfs(path().c_str(), &s) != 0) return 0;
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}

void ScopedTmpfs::Fill() const {
  const int fd = ::open((path() / "filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  // Big steps first, then smaller ones down to a page, until not even a page fits.
  off_t have = 0;
  for (off_t step = 1 << 20; step >= 4096; step /= 2) {
    while (::fallocate(fd, 0, have, step) == 0) have += step;
  }
  ::close(fd);
}

void ScopedTmpfs::Unfill() const {
  std::error_code ec;
  fs::remove(path() / "filler", ec);
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace alluvium::testing
