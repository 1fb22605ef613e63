// One FileSystem per UFS root (scheme + authority), opened on first use and shared by every
// request of the worker. Safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ufs/ufs.h"
#include "ufs/ufs_factory.h"

namespace alluvium::worker {

class UfsRegistry {
 public:
  explicit UfsRegistry(ufs::UfsOptions options = {}) : options_(std::move(options)) {}

  // The file system serving `uri`. kInvalidArgument for a malformed URI; kUnimplemented for a
  // scheme this build cannot serve.
  Result<ufs::FileSystem*> For(std::string_view uri);

  // Serves `root` ("scheme://authority", e.g. "file://") with `fs` from now on, replacing any file
  // system opened for it. A test seam: lets tests wrap a real file system (counting, slow).
  // Callers must not hold a pointer from For() for `root` across this call.
  void Install(std::string root, std::unique_ptr<ufs::FileSystem> fs);

 private:
  const ufs::UfsOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ufs::FileSystem>> by_root_;  // guarded by mu_
};

}  // namespace alluvium::worker
