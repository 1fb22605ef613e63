// Serves Handlers at a mount point through libfuse's low-level API: the one file that sees
// libfuse. Requests run on libfuse's multi-threaded loop; SIGINT, SIGTERM and SIGHUP end the
// loop and unmount cleanly; SIGUSR1 drops the metadata caches (drop_caches.h).
//
// Threads: the loop's threads are libfuse's, started and joined inside Run, as is the
// drop-caches listener's. The caller blocks the stop signals and SIGUSR1 (BlockStopSignals)
// before it starts any thread (the client's gRPC threads included), so they reach only the
// loop's threads and the listener, which Run lets take them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "fuse/drop_caches.h"
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

  // Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 in the calling thread and the threads it starts
  // later.
  static void BlockStopSignals();

  // Drops the handlers' caches (Handlers::DropCaches) and tells the kernel to forget the
  // entries, attributes and file data it caches of every inode it was given, so the next
  // lookup, stat, listing and read ask the cache again. Not from a request callback: the
  // kernel may wait on a request of this mount to apply a notification. Run calls it on
  // SIGUSR1.
  void DropCaches();

 private:
  friend struct FuseMountCallbacks;  // fuse_adapter.cc: the request callbacks
  struct SessionDeleter {
    void operator()(fuse_session* session) const;
  };
  // What the request callbacks reach through the session's userdata.
  struct SessionData {
    Handlers& handlers;
    unsigned max_read;
    bool no_open_wanted;              // FuseOptions::no_open
    uint64_t push_small_bytes;        // FuseOptions::push_small_bytes
    unsigned max_pushing_threads;     // loop threads pushing at once (PushSmallFiles): half
    fuse_session* session = nullptr;  // for notifications; set once mounted, before requests
    std::atomic<unsigned> pushing_threads{0};
    // Whether opens are answered ENOSYS (no_open wanted and the kernel supports it): set once
    // at init, before any open.
    std::atomic<bool> no_open{false};
  };
  Status MountSession(const FuseOptions& options);

  SessionData data_;
  const std::string mountpoint_;
  const unsigned max_threads_;
  const uint32_t kernel_read_ahead_kib_;                   // 0: the kernel's
  std::unique_ptr<fuse_session, SessionDeleter> session_;  // null until mounted
  DropCachesListener drop_listener_;                       // runs while Run serves
};

}  // namespace alluvium::fuse
