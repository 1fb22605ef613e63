// The cache namespace: which UFS URI each cache path stands for. A value type: the coordinator
// owns the authoritative copy (persisted) and clients hold snapshots from ClusterInfo. Not
// synchronised; share immutable copies (std::shared_ptr<const MountTable>) across threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace alluvium::mounts {

struct Mount {
  std::string path;     // cache path, normalised ("/", "/data")
  std::string ufs_uri;  // normalised URI ("file:///srv/data", "s3://bucket/prefix")
  std::map<std::string, std::string> options;  // UFS settings (credentials, endpoint)

  friend bool operator==(const Mount&, const Mount&) = default;
};

struct Resolved {
  const Mount* mount = nullptr;  // points into the table it came from
  std::string cache_path;
  std::string ufs_uri;
};

class MountTable {
 public:
  // Normalises path and URI. kAlreadyExists if the path is mounted; kInvalidArgument for a bad
  // path or URI, or a URI another mount already serves (it would make reverse lookup ambiguous).
  Status Add(Mount mount);
  // kNotFound if nothing is mounted at path; kFailedPrecondition for "/" while others remain.
  Status Remove(std::string_view path);

  // Cache path -> UFS URI through the longest matching mount. Normalises first, so ".." cannot
  // escape a mount. kInvalidArgument for a bad path; kNotFound when no mount covers it.
  Result<Resolved> Resolve(std::string_view cache_path) const;
  // UFS URI -> cache path, through the mount whose URI is the longest prefix.
  // kFailedPrecondition "not under any mount" otherwise.
  Result<Resolved> ResolveUfsUri(std::string_view ufs_uri) const;
  // Either form: a string with "://" is a UFS URI, anything else a cache path.
  Result<Resolved> ResolveAny(std::string_view path_or_uri) const;

  // The UFS settings for `root` ("s3://bucket", "file://"): `base` (the cluster's configuration)
  // overlaid with the options of the first mount (by path) of that root that has any. One
  // bucket is one file system with one set of credentials, whichever prefixes are mounted.
  std::map<std::string, std::string> UfsPropertiesFor(
      std::string_view root, std::map<std::string, std::string> base) const;

  const std::vector<Mount>& mounts() const { return mounts_; }
  bool empty() const { return mounts_.empty(); }

 private:
  std::vector<Mount> mounts_;  // sorted by path
};

}  // namespace alluvium::mounts
