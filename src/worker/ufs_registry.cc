#include "worker/ufs_registry.h"

namespace alluvium::worker {

Result<ufs::FileSystem*> UfsRegistry::For(std::string_view uri) {
  ALLUVIUM_ASSIGN_OR_RETURN(ufs::Uri parsed, ufs::Uri::Parse(uri));
  const std::string root = parsed.scheme + "://" + parsed.authority;
  std::lock_guard lock(mu_);
  auto it = by_root_.find(root);
  if (it == by_root_.end()) {
    ALLUVIUM_ASSIGN_OR_RETURN(auto fs, ufs::OpenFileSystem(parsed, options_));
    it = by_root_.emplace(root, std::move(fs)).first;
  }
  return it->second.get();
}

void UfsRegistry::Install(std::string root, std::unique_ptr<ufs::FileSystem> fs) {
  std::lock_guard lock(mu_);
  by_root_.insert_or_assign(std::move(root), std::move(fs));
}

}  // namespace alluvium::worker
