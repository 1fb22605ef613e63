#include "shortcircuit/seqpacket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/status_mapping.h"

namespace alluvium::shortcircuit {
namespace {

Result<sockaddr_un> AddressOf(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return InvalidArgument(fmt::format("short-circuit socket path '{}' must be 1 to {} bytes long",
                                       path, sizeof(address.sun_path) - 1));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

Result<ScopedFd> Listen(const std::string& path, int backlog, mode_t mode) {
  ALLUVIUM_ASSIGN_OR_RETURN(sockaddr_un address, AddressOf(path));
  ScopedFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return FromErrno(errno, "socket");
  // A socket file left by a worker that was killed: nothing listens there any more.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return FromErrno(errno, fmt::format("bind {}", path));
  }
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fd.get(), backlog) != 0) {
    return FromErrno(errno, fmt::format("listen {}", path));
  }
  return fd;
}

Result<ScopedFd> Connect(const std::string& path) {
  ALLUVIUM_ASSIGN_OR_RETURN(sockaddr_un address, AddressOf(path));
  ScopedFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return FromErrno(errno, "socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return Unavailable(fmt::format("connect {}: {}", path, FromErrno(errno, "").message()));
  }
  return fd;
}

Status Send(int socket, std::span<const std::byte> message, int fd) {
  iovec iov{.iov_base = const_cast<std::byte*>(message.data()), .iov_len = message.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  for (;;) {
    const ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n >= 0) return OkStatus();
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) return Unavailable("short-circuit peer went away");
    return FromErrno(errno, "sendmsg");
  }
}

Result<size_t> Receive(int socket, std::span<std::byte> buffer, ScopedFd* fd) {
  iovec iov{.iov_base = buffer.data(), .iov_len = buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = 0;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ECONNRESET) return Unavailable("short-circuit peer went away");
    return FromErrno(errno, "recvmsg");
  }
  ScopedFd received;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int passed = -1;
      std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
      received = ScopedFd(passed);
    }
  }
  if (n == 0) return Unavailable("short-circuit peer closed the connection");
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    return DataLoss(fmt::format("short-circuit message of more than {} bytes", buffer.size()));
  }
  if (fd != nullptr) *fd = std::move(received);
  return static_cast<size_t>(n);
}

}  // namespace alluvium::shortcircuit
