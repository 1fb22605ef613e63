#include "fuse/kernel_read_ahead.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <fstream>

#include <fmt/format.h>

#include "common/status_mapping.h"

namespace alluvium::fuse {

Status SetKernelReadAhead(const std::string& mountpoint, uint32_t kib) {
  // Only a FUSE mount's: once unmounted, the path is the directory below, of another device.
  constexpr long kFuseMagic = 0x65735546;
  struct statfs fs;
  struct stat st;
  if (::statfs(mountpoint.c_str(), &fs) != 0 || ::stat(mountpoint.c_str(), &st) != 0) {
    return FromErrno(errno, mountpoint);
  }
  if (fs.f_type != kFuseMagic) {
    return FailedPrecondition(fmt::format("{} is not a FUSE mount (any more)", mountpoint));
  }
  const std::string path =
      fmt::format("/sys/class/bdi/{}:{}/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
  std::ofstream out(path);
  if (out << kib << '\n' << std::flush) return OkStatus();
  return FromErrno(errno != 0 ? errno : EIO, path);
}

}  // namespace alluvium::fuse
