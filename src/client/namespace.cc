#include "client/namespace.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/logging.h"
#include "common/paths.h"

namespace alluvium::client {

std::vector<std::string> Namespace::MountPaths() {
  const auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(mu_);
    if (mounts_read_ != std::chrono::steady_clock::time_point{} &&
        now - mounts_read_ < mounts_ttl_) {
      return mount_paths_;
    }
  }
  Result<std::vector<MountInfo>> mounts = client_.ListMounts();
  MutexLock lock(mu_);
  // Reads go to the workers, so a coordinator that cannot be asked must not fail lookups and
  // listings: keep the last list and ask again after the TTL.
  mounts_read_ = now;
  if (!mounts.ok()) {
    ALLUVIUM_LOG(DEBUG, "mount table not re-read, keeping the last one: {}", mounts.status());
    return mount_paths_;
  }
  mount_paths_.clear();
  for (const MountInfo& m : *mounts) mount_paths_.push_back(m.path);
  return mount_paths_;
}

void Namespace::ForgetMounts() {
  MutexLock lock(mu_);
  mounts_read_ = {};
}

Result<FileInfo> Namespace::Stat(const std::string& path) {
  Result<FileInfo> info = client_.GetStatus(path);
  if (info.ok() || info.status().code() != Code::kNotFound) return info;
  for (const std::string& mount : MountPaths()) {
    if (mount != path && IsPathPrefix(path, mount)) {
      return FileInfo{.path = path, .is_directory = true};
    }
  }
  return info;
}

Result<std::vector<FileInfo>> Namespace::List(const std::string& path) {
  ALLUVIUM_ASSIGN_OR_RETURN(FileInfo info, Stat(path));
  if (!info.is_directory) return InvalidArgument(fmt::format("{} is not a directory", path));
  std::vector<FileInfo> children;
  std::set<std::string, std::less<>> names;
  // A directory shown only for the mounts below it has nothing of its own to list.
  if (!info.uri.empty()) {
    ALLUVIUM_RETURN_IF_ERROR(client_.List(path, false, [&](const FileInfo& child) {
      if (names.emplace(BaseName(child.path)).second) children.push_back(child);
      return OkStatus();
    }));
  }
  // Mount points below this directory show as its entries even where its UFS has no such
  // directory.
  for (const std::string& mount : MountPaths()) {
    if (mount == path || !IsPathPrefix(path, mount)) continue;
    std::string_view rest = std::string_view(mount).substr(path == "/" ? 1 : path.size() + 1);
    const std::string name(rest.substr(0, rest.find('/')));
    if (names.count(name) > 0) continue;
    ALLUVIUM_ASSIGN_OR_RETURN(FileInfo child, Stat(JoinPath(path, name)));
    names.insert(name);
    children.push_back(std::move(child));
  }
  std::sort(children.begin(), children.end(),
            [](const auto& a, const auto& b) { return BaseName(a.path) < BaseName(b.path); });
  return children;
}

}  // namespace alluvium::client
