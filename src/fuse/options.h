// Settings of one FUSE mount: which cache directory it shows, how long the kernel may cache what
// it was told, and the libfuse options passed through.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fuse/read_ahead_window.h"

namespace alluvium::fuse {

struct FuseOptions {
  std::string path = "/";  // --path: the cache directory shown at the mount's root (normalised)
  // Seconds the kernel keeps attributes and entries of paths the cache filter calls immutable:
  // they do not change, so long; an hour still bounds how stale a listing gets if the UFS
  // changes anyway.
  double immutable_timeout = 3600;
  std::optional<double> attr_timeout;   // -o attr_timeout=S, beats the filter's
  std::optional<double> entry_timeout;  // -o entry_timeout=S, beats the filter's
  bool direct_io = false;               // -o direct_io: file data never in the page cache
  // Largest read the kernel sends: 1 MiB matches the page size, so a sequential reader asks
  // for whole pages (the kernel's own default is 128 KiB).
  uint32_t max_read = 1 << 20;
  // The kernel's read-ahead for files in its page cache (kernel_read_ahead.h), in KiB; -o
  // read_ahead_kb=N, 0 leaves the kernel's 128 KiB. 4 MiB keeps four max_read reads in flight.
  uint32_t kernel_read_ahead_kib = 4096;
  // Files of at most this many bytes that a listing (readdirplus) gives the kernel are read into
  // its page cache right after, when cached on this host and every file is immutable (no_open):
  // a job that lists a directory and then reads its small files then sends no request per file.
  // -o push_small_kb=N, 0 off.
  uint64_t push_small_bytes = 128 << 10;
  // Read-ahead in the daemon, for files read with direct_io (the kernel reads none ahead for
  // them); -o read_ahead_parts=N caps its window (0: none).
  ReadAheadOptions read_ahead;
  // Threads of libfuse's session loop: reads wait on the network, so more than the cores.
  unsigned max_threads = 16;
  uid_t uid = 0;  // owner shown for every file; the mounting user in practice (Parse)
  gid_t gid = 0;
  std::vector<std::string> fuse_options;  // other -o options, for libfuse (allow_other, debug)
  // The kernel may read files without opening them (FUSE's no_open: no open or release
  // requests, the page cache kept across opens). Only when every file is immutable for good:
  // the mount command sets it when no cache filter file is configured (rules that could change)
  // and direct_io is off. Not an -o option.
  bool no_open = false;

  // `path` and the -o values (each a comma-separated list). kInvalidArgument for a bad path, a
  // timeout that is not a number >= 0, read_ahead_parts outside 0..1024, read_ahead_kb outside
  // 0..1048576 or push_small_kb outside 0..1024.
  static Result<FuseOptions> Parse(std::string_view path, const std::vector<std::string>& o);
};

}  // namespace alluvium::fuse
