#include "fuse/mount_point.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/scoped_fd.h"
#include "common/status_mapping.h"

namespace alluvium::fuse {
namespace {

// mountinfo writes space, tab, newline and backslash in paths as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const int value = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out += static_cast<char>(value);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Status CheckCanMount(const std::string& mountpoint) {
  ScopedFd fuse(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!fuse.valid()) {
    return FailedPrecondition(fmt::format(
        "cannot open /dev/fuse: {} (is the fuse kernel module loaded? in a container, run it "
        "with --device /dev/fuse --cap-add SYS_ADMIN)",
        std::strerror(errno)));
  }
  // statfs, unlike stat, always reaches a FUSE daemon: the kernel may answer stat from the
  // attributes it cached while the daemon lived.
  struct statfs fs {};
  struct stat st {};
  if (::statfs(mountpoint.c_str(), &fs) != 0 || ::stat(mountpoint.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound(fmt::format("mount point {} does not exist", mountpoint));
    // The first request after the daemon dies gives ECONNABORTED, later ones ENOTCONN.
    if (err == ENOTCONN || err == ECONNABORTED) {
      return FailedPrecondition(fmt::format(
          "{} is a FUSE mount whose daemon has died (transport endpoint is not connected); "
          "run `alluvium fuse unmount {}` first",
          mountpoint, mountpoint));
    }
    return FromErrno(err, "stat mount point " + mountpoint);
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument(fmt::format("mount point {} is not a directory", mountpoint));
  }
  ALLUVIUM_ASSIGN_OR_RETURN(std::optional<std::string> mounted, MountedType(mountpoint));
  if (mounted) {
    return FailedPrecondition(fmt::format(
        "mount point {} is busy: a {} file system is mounted there{}", mountpoint, *mounted,
        *mounted == kFuseFsType
            ? fmt::format(" (`alluvium fuse unmount {}` removes it)", mountpoint)
            : ""));
  }
  return OkStatus();
}

Result<std::optional<std::string>> MountedType(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return InternalError("cannot read /proc/self/mountinfo");
  std::optional<std::string> type;
  std::string line;
  // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": the mount point is
  // the fifth field, the type the first after "-". Later lines are mounted on top.
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field, point;
    for (int i = 0; i < 5 && fields >> field; ++i) point = field;
    if (Unescape(point) != mountpoint) continue;
    while (fields >> field && field != "-") {
    }
    if (fields >> field) type = field;
  }
  return type;
}

}  // namespace alluvium::fuse
