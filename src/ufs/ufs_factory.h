// Picks the FileSystem implementation for a URI's scheme: the one place new kinds of storage
// (S3 next) plug in. Stateless; safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ufs/ufs.h"

namespace alluvium::ufs {

struct UfsOptions {
  // Implementation-specific settings (endpoint, region, credentials for S3), keyed by their
  // configuration names. The local file system needs none and ignores them.
  std::map<std::string, std::string> properties;
};

// kUnimplemented for a scheme this build has no file system for.
Result<std::unique_ptr<FileSystem>> OpenFileSystem(const Uri& uri, const UfsOptions& options);

}  // namespace alluvium::ufs
