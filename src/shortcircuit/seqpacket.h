// Messages over a connected SOCK_SEQPACKET Unix socket, optionally carrying one descriptor
// (SCM_RIGHTS). Free functions on a descriptor the caller owns; safe from any thread, though one
// connection should carry one request at a time.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include <sys/types.h>

#include "common/scoped_fd.h"
#include "common/status.h"

namespace alluvium::shortcircuit {

// A listening socket at `path` (an existing socket file there is replaced) with file mode `mode`
// (who may connect). kInvalidArgument if the path is longer than a socket address holds.
Result<ScopedFd> Listen(const std::string& path, int backlog, mode_t mode);
// kUnavailable if nothing listens at `path` (not on this host, or the worker is down).
Result<ScopedFd> Connect(const std::string& path);

// Sends one message, with `fd` attached unless it is -1.
Status Send(int socket, std::span<const std::byte> message, int fd = -1);
// Receives one message into `buffer`; returns its size. A descriptor attached to it goes to
// `fd` (if given; otherwise it is closed). kUnavailable when the peer has closed the connection;
// kDataLoss if the message did not fit the buffer.
Result<size_t> Receive(int socket, std::span<std::byte> buffer, ScopedFd* fd = nullptr);

template <typename T>
std::span<const std::byte> BytesOf(const T& value) {
  return std::as_bytes(std::span(&value, 1));
}

}  // namespace alluvium::shortcircuit
