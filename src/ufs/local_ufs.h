// The under file system for scheme "file": a directory tree on this machine, read with POSIX calls.
// Holds no state, so it is safe for concurrent use; each FileReader or ListIterator it returns is
// used by one thread at a time and owns its own descriptors.
//
// Symlinks are followed, as stat() does. Only regular files and directories are visible: FIFOs,
// sockets and devices are left out of listings and rejected by GetStatus and Open, since there
// are no stable bytes in them to cache.
#pragma once

#include <memory>
#include <string_view>

#include "ufs/ufs.h"

namespace alluvium::ufs {

class LocalFileSystem final : public FileSystem {
 public:
  std::string_view scheme() const override { return "file"; }

  // kNotFound if nothing is there; kInvalidArgument for a URI that is not file:// or for a
  // FIFO/socket/device.
  Result<FileStatus> GetStatus(std::string_view uri) override;

  // A depth-first walk that reads one directory at a time, sorts its entries, and keeps only the
  // not-yet-returned names of the directories on the current path. No descriptor stays open
  // between Next() calls. Entries that vanish mid-walk are skipped; a directory that is its own
  // ancestor (a symlink loop) is returned but not entered. `start_after` may be the URI of a file
  // or a directory (its entries then follow it); entries sorting before it are skipped without
  // being stat()ed where readdir's d_type allows.
  Result<std::unique_ptr<ListIterator>> List(std::string_view uri,
                                             const ListOptions& options) override;

  using FileSystem::Open;
  Result<std::unique_ptr<FileReader>> Open(std::string_view uri,
                                           const OpenOptions& options) override;
};

}  // namespace alluvium::ufs
