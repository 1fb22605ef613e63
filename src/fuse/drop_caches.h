// `alluvium fuse drop-caches`: how a command asks a running FUSE daemon to drop its metadata
// caches without a network port. The command queues SIGUSR1 with a request value to the daemon's
// PID (from its PID file); the daemon's listener thread drops the caches, then queues SIGUSR1
// back to the sender with an answer value, so the command returns once the drop is done. A bare
// `kill -USR1 <pid>` (a foreground mount) drops too, unanswered.
//
// SIGUSR1 must be blocked in every thread of both processes, or its default action ends the
// process: BlockDropCachesSignal before any thread starts (FuseMount::BlockStopSignals does it
// for the daemon).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <thread>

#include "common/status.h"

namespace alluvium::fuse {

// Blocks SIGUSR1 in the calling thread and the threads it starts later.
void BlockDropCachesSignal();

// Owns the thread that waits for drop requests and runs `drop` for each, one at a time, off the
// FUSE loop's threads (the kernel notifications `drop` sends must not come from a request).
class DropCachesListener {
 public:
  explicit DropCachesListener(std::function<void()> drop) : drop_(std::move(drop)) {}
  ~DropCachesListener() { Stop(); }
  DropCachesListener(const DropCachesListener&) = delete;
  DropCachesListener& operator=(const DropCachesListener&) = delete;

  void Start();
  void Stop();  // idempotent; waits for a drop under way

 private:
  void Run(std::stop_token stop);

  const std::function<void()> drop_;
  std::jthread thread_;
};

// Asks the daemon `pid` to drop its caches and waits until it has. kNotFound if no such process;
// kDeadlineExceeded if it does not answer within `deadline` (not an alluvium FUSE daemon, or
// stuck). Call before this process starts threads (it blocks SIGUSR1 in the caller).
Status RequestDropCaches(pid_t pid, std::chrono::milliseconds deadline);

}  // namespace alluvium::fuse
