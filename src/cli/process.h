// Starting and stopping server processes for `alluvium cluster` and for tests: each runs in its
// own session with output appended to a log file, and is stopped by PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace alluvium::cli {

// The path of the running executable.
std::string SelfExecutable();

// Starts argv[0] with argv in a new session, stdin from /dev/null, stdout and stderr appended to
// log_path. Returns its PID. With die_with_parent (tests), the kernel kills it if the calling
// thread dies first, so a crashed test leaves no servers behind.
Result<pid_t> SpawnDaemon(const std::vector<std::string>& argv,
                          const std::filesystem::path& log_path, bool die_with_parent = false);

// True while the process exists (reaps it first if it is our exited child).
bool IsAlive(pid_t pid);

// SIGTERM, then SIGKILL if it is still alive after `grace`. OK if it was already gone.
Status Terminate(pid_t pid, std::chrono::milliseconds grace);

}  // namespace alluvium::cli
