// The cache namespace as users browse it: the files and directories of the mounted UFSes, plus
// the directories that exist only because mount points lie below them ("/" with "/data" and
// "/models" mounted, or "/a" with "/a/b/c" mounted), which no UFS has. Client::GetStatus and
// Client::List answer for one mount; this is the view the FUSE mount, the Python filesystem and
// the CLI show. The mount table is re-read at most every `mounts_ttl` (mounts change rarely, and
// each read asks the coordinator). Safe for concurrent use.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/mutex.h"

namespace alluvium::client {

class Namespace {
 public:
  explicit Namespace(Client& client,
                     std::chrono::steady_clock::duration mounts_ttl = std::chrono::seconds(2))
      : client_(client), mounts_ttl_(mounts_ttl) {}

  // A path's status; a directory that only holds mount points has no uri (no UFS behind it).
  // kNotFound as Client::GetStatus for anything else.
  Result<FileInfo> Stat(const std::string& path);
  // The entries of a directory by name, mount points below it among them (each the first
  // component of its path below this one). kInvalidArgument for a file.
  Result<std::vector<FileInfo>> List(const std::string& path);
  // The mounted cache paths, as last read.
  std::vector<std::string> MountPaths();
  // The next call reads the mount table again (with the client's DropMetadataCache).
  void ForgetMounts();

 private:
  Client& client_;
  const std::chrono::steady_clock::duration mounts_ttl_;
  Mutex mu_;
  std::vector<std::string> mount_paths_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point mounts_read_ GUARDED_BY(mu_);  // the epoch: not yet
};

}  // namespace alluvium::client
