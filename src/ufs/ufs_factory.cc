// OpenFileSystem: see ufs_factory.h.
#include "ufs/ufs_factory.h"

#include "ufs/local_ufs.h"
#include "ufs/s3/s3_file_system.h"

namespace alluvium::ufs {

Result<std::unique_ptr<FileSystem>> OpenFileSystem(const Uri& uri, const UfsOptions& options) {
  if (uri.scheme == "file") return std::unique_ptr<FileSystem>(std::make_unique<LocalFileSystem>());
  if (uri.scheme == "s3") {
    ALLUVIUM_ASSIGN_OR_RETURN(s3::S3Options s3,
                              s3::S3Options::From(options.properties, uri.authority));
    return std::unique_ptr<FileSystem>(
        std::make_unique<s3::S3FileSystem>(uri.authority, std::move(s3)));
  }
  return Unimplemented(
      fmt::format("no under file system for scheme '{}' in this build", uri.scheme));
}

}  // namespace alluvium::ufs
