#include "coordinator/rest/transport.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "common/status_mapping.h"

namespace alluvium::coordinator {
namespace {

using Clock = TransportClock;

constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 16 << 20;

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}

  Result<size_t> ReadSome(void* data, size_t size, Clock::time_point deadline) override {
    while (true) {
      if (!WaitFor(fd_, POLLIN, deadline)) return DeadlineExceeded("nothing received in time");
      const ssize_t n = ::recv(fd_, data, size, MSG_DONTWAIT);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return FromErrno(errno, "receive request");
      }
    }
  }

  Status WriteAll(std::string_view data, Clock::time_point deadline) override {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return FromErrno(errno, "send response");
      } else if (!WaitFor(fd_, POLLOUT, deadline)) {
        return DeadlineExceeded("the client did not take the response in time");
      }
    }
    return OkStatus();
  }

  void Close() override { LingerAndDrop(fd_); }

 private:
  const int fd_;
};

}  // namespace

std::unique_ptr<Transport> NewPlainTransport(int fd) {
  return std::make_unique<PlainTransport>(fd);
}

bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    if (r > 0 || (r < 0 && errno != EINTR)) return true;
  }
}

void LingerAndDrop(int fd) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = Clock::now() + kLingerTime;
  char sink[64 << 10];
  for (size_t dropped = 0; dropped < kLingerBytes && WaitFor(fd, POLLIN, deadline);) {
    const ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
    if (n > 0) dropped += static_cast<size_t>(n);
  }
}

}  // namespace alluvium::coordinator
