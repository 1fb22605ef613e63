// The ceiling of a remote read on this machine: raw TCP over 127.0.0.1, with nothing but the
// socket in the way. One process, two threads: a sender `read`s FILE in 1 MiB buffers and
// `send`s each to a receiver that `recv`s into a 1 MiB buffer and discards it (after folding
// the bytes into the same sampled sum as read_bench, so bench/read/run.sh can check that the
// bytes arrived whole). Timed from connect to the receiver's last byte.
//
//   tcp_pair FILE       prints: seconds=S bytes=N sampled=H
//
// The receiver thread is started, and joined, by Main.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/scoped_fd.h"
#include "sums.h"

namespace alluvium::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kBufferBytes = 1 << 20;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "tcp_pair: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void SendAll(int fd, const std::byte* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) Die("send");
    p += w, n -= static_cast<size_t>(w);
  }
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tcp_pair FILE\n");
    return 2;
  }
  ScopedFd file(::open(argv[1], O_RDONLY | O_CLOEXEC));
  if (!file.valid()) Die(argv[1]);

  ScopedFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) Die("bind");
  if (::listen(listener.get(), 1) != 0) Die("listen");
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("getsockname");
  }

  SampledSum received;
  std::thread receiver([&] {
    ScopedFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) Die("accept");
    std::vector<std::byte> buf(kBufferBytes);
    while (true) {
      const ssize_t n = ::recv(conn.get(), buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Die("recv");
      if (n == 0) return;
      received.Update(std::span(buf).first(static_cast<size_t>(n)));
    }
  });

  const auto start = Clock::now();
  {
    ScopedFd conn(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!conn.valid()) Die("socket");
    if (::connect(conn.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) Die("connect");
    std::vector<std::byte> buf(kBufferBytes);
    while (true) {
      const ssize_t n = ::read(file.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Die("read");
      if (n == 0) break;
      SendAll(conn.get(), buf.data(), static_cast<size_t>(n));
    }
  }  // closing the connection ends the receiver's loop
  receiver.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("seconds=%.6f bytes=%lu sampled=%016lx\n", seconds, received.bytes(),
              received.value());
  return 0;
}

}  // namespace
}  // namespace alluvium::bench

int main(int argc, char** argv) { return alluvium::bench::Main(argc, argv); }
