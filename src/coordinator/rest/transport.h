// The byte stream of one REST connection: plain TCP, or TLS (tls_transport.h) over the same
// socket. Every call is bounded by a deadline: the socket is driven with poll() and
// non-blocking I/O, so a silent or slow peer holds a connection thread until the deadline at
// most. (A socket receive timeout does not work here: Asio's blocking reads retry EAGAIN by
// polling without a timeout.) A transport is used by one thread; it does not own the socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "common/status.h"

namespace alluvium::coordinator {

using TransportClock = std::chrono::steady_clock;

class Transport {
 public:
  virtual ~Transport() = default;

  // Reads what has arrived, up to `size` bytes; 0 when the peer has closed. kDeadlineExceeded
  // when nothing arrives by `deadline`, another error when the connection failed.
  virtual Result<size_t> ReadSome(void* data, size_t size, TransportClock::time_point deadline) = 0;
  // kDeadlineExceeded when the peer does not take it all by `deadline`.
  virtual Status WriteAll(std::string_view data, TransportClock::time_point deadline) = 0;
  // Ends the stream and then reads and drops what the peer still sends for a while: closing
  // with unread bytes resets the connection and can destroy the answer before the client reads
  // it (say a 413 while the client is still sending the body).
  virtual void Close() = 0;
};

// Plain TCP on a connected socket.
std::unique_ptr<Transport> NewPlainTransport(int fd);

// False when `deadline` passes first; true when `fd` is ready for `events` (or failed: the next
// call says how).
bool WaitFor(int fd, short events, TransportClock::time_point deadline);

// Half-closes `fd` and drops what the peer still sends, for 2 s or 16 MiB at most.
void LingerAndDrop(int fd);

}  // namespace alluvium::coordinator
