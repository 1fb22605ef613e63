#include "fuse/drop_caches.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/logging.h"
#include "common/status_mapping.h"

namespace alluvium::fuse {
namespace {

// Values queued with SIGUSR1, so neither side mistakes another program's SIGUSR1 for its own.
constexpr int kRequest = 0x414c4452;  // "ALDR"
constexpr int kAnswer = 0x414c4441;   // "ALDA"

sigset_t DropSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

void BlockDropCachesSignal() {
  const sigset_t set = DropSignal();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void DropCachesListener::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

void DropCachesListener::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  // Wakes sigwaitinfo; pending for the thread if it is not waiting yet.
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

void DropCachesListener::Run(std::stop_token stop) {
  const sigset_t set = DropSignal();
  while (!stop.stop_requested()) {
    siginfo_t info{};
    if (sigwaitinfo(&set, &info) < 0) continue;  // EINTR
    if (stop.stop_requested()) break;
    drop_();
    if (info.si_code == SI_QUEUE && info.si_value.sival_int == kRequest) {
      if (sigqueue(info.si_pid, SIGUSR1, sigval{.sival_int = kAnswer}) != 0) {
        ALLUVIUM_LOG(WARN, "cannot answer the drop-caches request of pid {}: {}", info.si_pid,
                     std::strerror(errno));
      }
    }
  }
}

Status RequestDropCaches(pid_t pid, std::chrono::milliseconds deadline) {
  BlockDropCachesSignal();
  const sigset_t set = DropSignal();
  if (sigqueue(pid, SIGUSR1, sigval{.sival_int = kRequest}) != 0) {
    if (errno == ESRCH) return NotFound(fmt::format("no process {} (the daemon is gone)", pid));
    return FromErrno(errno, fmt::format("signal the FUSE daemon (pid {})", pid));
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    const auto left =
        std::max(std::chrono::nanoseconds(0), until - std::chrono::steady_clock::now());
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    const timespec timeout{.tv_sec = static_cast<time_t>(seconds.count()),
                           .tv_nsec = static_cast<long>((left - seconds).count())};
    siginfo_t info{};
    if (sigtimedwait(&set, &info, &timeout) < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        return DeadlineExceeded(fmt::format("the FUSE daemon (pid {}) did not answer within {} ms",
                                            pid, deadline.count()));
      }
      return FromErrno(errno, "wait for the FUSE daemon's answer");
    }
    if (info.si_pid == pid && info.si_code == SI_QUEUE && info.si_value.sival_int == kAnswer) {
      return OkStatus();
    }
  }
}

}  // namespace alluvium::fuse
