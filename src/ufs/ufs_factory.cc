// OpenFileSystem: see ufs_factory.h.
#include "ufs/ufs_factory.h"

#include "ufs/local_ufs.h"

namespace alluvium::ufs {

Result<std::unique_ptr<FileSystem>> OpenFileSystem(const Uri& uri, const UfsOptions& options) {
  if (uri.scheme == "file") return std::unique_ptr<FileSystem>(std::make_unique<LocalFileSystem>());
  return Unimplemented(
      fmt::format("no under file system for scheme '{}' in this build", uri.scheme));
}

}  // namespace alluvium::ufs
