#include "mounts/mount_table.h"

#include <algorithm>

#include "common/paths.h"
#include "ufs/ufs.h"

namespace alluvium::mounts {
namespace {

// The URI path below the mount's URI path, e.g. ("/srv/data", "/srv/data/a/b") -> "a/b".
std::string_view Remainder(std::string_view base, std::string_view path) {
  if (path.size() <= base.size()) return {};
  std::string_view rest = path.substr(base.size());
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  return rest;
}

}  // namespace

Status MountTable::Add(Mount mount) {
  ALLUVIUM_ASSIGN_OR_RETURN(mount.path, NormalizePath(mount.path));
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::Uri uri, ufs::Uri::Parse(mount.ufs_uri));
  uri.trailing_slash = false;  // a mount is always a directory; keep one spelling of it
  mount.ufs_uri = uri.ToString();
  for (const Mount& existing : mounts_) {
    if (existing.path == mount.path) {
      return AlreadyExists(
          fmt::format("'{}' is already mounted (to {})", mount.path, existing.ufs_uri));
    }
    if (existing.ufs_uri == mount.ufs_uri) {
      return InvalidArgument(
          fmt::format("{} is already mounted at '{}'", mount.ufs_uri, existing.path));
    }
  }
  mounts_.push_back(std::move(mount));
  std::sort(mounts_.begin(), mounts_.end(),
            [](const Mount& a, const Mount& b) { return a.path < b.path; });
  return OkStatus();
}

Status MountTable::Remove(std::string_view path) {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string normal, NormalizePath(path));
  auto it = std::find_if(mounts_.begin(), mounts_.end(),
                         [&](const Mount& m) { return m.path == normal; });
  if (it == mounts_.end()) return NotFound(fmt::format("nothing is mounted at '{}'", normal));
  if (normal == "/" && mounts_.size() > 1) {
    return FailedPrecondition("the root mount can only be removed after every other mount");
  }
  mounts_.erase(it);
  return OkStatus();
}

Result<Resolved> MountTable::Resolve(std::string_view cache_path) const {
  ALLUVIUM_ASSIGN_OR_RETURN(std::string path, NormalizePath(cache_path));
  const Mount* best = nullptr;
  for (const Mount& m : mounts_) {
    if (IsPathPrefix(m.path, path) && (best == nullptr || m.path.size() > best->path.size())) {
      best = &m;
    }
  }
  if (best == nullptr) return NotFound(fmt::format("'{}' is outside every mount", path));
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::Uri uri, ufs::Uri::Parse(best->ufs_uri));
  uri.path = JoinPath(uri.path, Remainder(best->path, path));
  uri.trailing_slash = false;
  return Resolved{best, std::move(path), uri.ToString()};
}

Result<Resolved> MountTable::ResolveUfsUri(std::string_view ufs_uri) const {
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::Uri target, ufs::Uri::Parse(ufs_uri));
  const Mount* best = nullptr;
  size_t best_len = 0;
  for (const Mount& m : mounts_) {
    auto mount_uri = ufs::Uri::Parse(m.ufs_uri);
    if (!mount_uri.ok() || mount_uri->scheme != target.scheme ||
        mount_uri->authority != target.authority || !IsPathPrefix(mount_uri->path, target.path)) {
      continue;
    }
    if (best == nullptr || mount_uri->path.size() > best_len) {
      best = &m;
      best_len = mount_uri->path.size();
    }
  }
  if (best == nullptr) {
    return FailedPrecondition(fmt::format("{} is not under any mount", target.ToString()));
  }
  auto mount_uri = ufs::Uri::Parse(best->ufs_uri);
  std::string cache_path = JoinPath(best->path, Remainder(mount_uri->path, target.path));
  return Resolved{best, std::move(cache_path), target.ToString()};
}

Result<Resolved> MountTable::ResolveAny(std::string_view path_or_uri) const {
  if (path_or_uri.find("://") != std::string_view::npos) return ResolveUfsUri(path_or_uri);
  return Resolve(path_or_uri);
}

std::map<std::string, std::string> MountTable::UfsPropertiesFor(
    std::string_view root, std::map<std::string, std::string> base) const {
  for (const Mount& mount : mounts_) {
    auto uri = ufs::Uri::Parse(mount.ufs_uri);
    if (!uri.ok() || mount.options.empty() || uri->Root() != root) continue;
    for (const auto& [key, value] : mount.options) base[key] = value;
    break;
  }
  return base;
}

}  // namespace alluvium::mounts
