// Serves Handlers at a mount point through libfuse's low-level API: the one file that sees
// libfuse. Requests run on libfuse's multi-threaded loop; SIGINT, SIGTERM and SIGHUP end the
// loop and unmount cleanly.
//
// Threads: the loop's threads are libfuse's, started and joined inside Run. The caller blocks
// the stop signals (BlockStopSignals) before it starts any thread (the client's gRPC threads
// included), so they reach only the loop's threads, which Run lets take them.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "fuse/handlers.h"
#include "fuse/options.h"

struct fuse_session;

namespace alluvium::fuse {

class FuseMount {
 public:
  // Checks the mount point (CheckCanMount) and mounts read-only at `mountpoint` (absolute).
  // The handlers must outlive the FuseMount. kFailedPrecondition when the kernel refuses.
  static Result<std::unique_ptr<FuseMount>> Mount(Handlers& handlers, const std::string& mountpoint,
                                                  const FuseOptions& options);
  // Use Mount; public only for std::make_unique.
  FuseMount(Handlers& handlers, std::string mountpoint, const FuseOptions& options);
  // Unmounts if still mounted.
  ~FuseMount();
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  // Serves requests until the file system is unmounted (`alluvium fuse unmount`, umount) or a
  // stop signal arrives, then unmounts. OK in both cases; the loop's error otherwise.
  Status Run();

  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and the threads it starts later.
  static void BlockStopSignals();

 private:
  friend struct FuseMountCallbacks;  // fuse_adapter.cc: the request callbacks
  struct SessionDeleter {
    void operator()(fuse_session* session) const;
  };
  // What the request callbacks reach through the session's userdata.
  struct SessionData {
    Handlers& handlers;
    unsigned max_read;
  };
  Status MountSession(const FuseOptions& options);

  SessionData data_;
  const std::string mountpoint_;
  const unsigned max_threads_;
  std::unique_ptr<fuse_session, SessionDeleter> session_;  // null until mounted
};

}  // namespace alluvium::fuse
