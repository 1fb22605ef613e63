// One FileSystem per UFS root (scheme + authority, e.g. one S3 bucket), opened on first use and
// shared by every request of the worker. A root's settings (endpoint, credentials) come from an
// options source and are looked up again after `refresh`: when they changed (a remount with new
// credentials), later requests get a file system opened with the new ones, while requests in
// flight finish on the old one. Safe for concurrent use.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/status.h"
#include "ufs/ufs.h"
#include "ufs/ufs_factory.h"

namespace alluvium::worker {

// The settings for a root. Called without the registry's lock held; may do network I/O.
using UfsOptionsSource = std::function<Result<ufs::UfsOptions>(const std::string& root)>;

class UfsRegistry {
 public:
  explicit UfsRegistry(UfsOptionsSource source = nullptr,
                       std::chrono::milliseconds refresh = std::chrono::seconds(30));

  // The file system serving `uri`. kInvalidArgument for a malformed URI; kUnimplemented for a
  // scheme this build cannot serve; the source's error if a root's settings cannot be had.
  Result<std::shared_ptr<ufs::FileSystem>> For(std::string_view uri);

  // Serves `root` ("scheme://authority", e.g. "file://") with `fs` from now on, for good. A test
  // seam: lets tests wrap a real file system (counting, slow).
  void Install(std::string root, std::shared_ptr<ufs::FileSystem> fs);

 private:
  struct Entry {
    std::shared_ptr<ufs::FileSystem> fs;
    std::map<std::string, std::string> properties;  // what fs was opened with
    std::chrono::steady_clock::time_point checked;
    bool installed = false;
  };

  const UfsOptionsSource source_;
  const std::chrono::milliseconds refresh_;
  Mutex mu_;
  std::map<std::string, Entry> by_root_ GUARDED_BY(mu_);
};

}  // namespace alluvium::worker
